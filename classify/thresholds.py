"""Per-label decision thresholds, chosen on the dev split (pure).

The cost of a miss is not symmetric: ``allvarlig_handelse`` is flagged at a
threshold low enough to catch nearly every serious incident on dev, at the
price of false alarms that a person dismisses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from classify.calibration import fit_temperature, softened

GRID = [i / 100 for i in range(2, 99)]
# Flags whose misses are costly: the threshold keeps dev recall at least this.
RECALL_FLOORS = {"allvarlig_handelse": 0.97, "overklagande": 0.92, "felanmalan": 0.92,
                 "extern": 0.92, "medborgarforslag": 0.92}


@dataclass
class Thresholds:
    category: float = 0.6  # below: the registrator decides the category
    enhet: float = 0.6  # below: no enhet suggestion
    flags: dict[str, float] = field(default_factory=dict)
    aspects: dict[str, float] = field(default_factory=dict)
    # Prior correction: the category is the best score times its weight.
    category_weights: dict[str, float] = field(default_factory=dict)
    # Temperature scaling of the weighted scores (classify/calibration.py),
    # fitted on the real yardstick: the category's confidence.
    temperature: float = 1.0

    def category_of(self, scores: dict[str, float]) -> str:
        """The category with the best weighted score (``scores`` by category)."""
        w = self.category_weights
        return max(scores, key=lambda c: scores[c] * w.get(c, 1.0))

    def confidence(self, scores: dict[str, float], category: str) -> float:
        """How likely ``category`` is right, calibrated."""
        return softened(scores, self.category_weights, self.temperature)[category]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


WEIGHTS = [round(0.5 + i * 0.1, 2) for i in range(26)]  # 0.5 .. 3.0


def for_weights(scores: Sequence[dict[str, float]], gold: Sequence[str],
                labels: Sequence[str]) -> dict[str, float]:
    """Per-class weights (the first label fixed at 1) that maximise macro-F1 on
    dev: a classifier trained on a corpus that is 45 % klagomål leans to
    klagomål. Of equally good weights, the ones closest to 1 win."""
    first, rest = labels[0], list(labels[1:])
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.0, {c: 1.0 for c in labels})

    def grid(n: int) -> list[list[float]]:
        return [[]] if n == 0 else [[w, *tail] for w in WEIGHTS for tail in grid(n - 1)]

    for combo in grid(len(rest)):
        weights = {first: 1.0, **dict(zip(rest, combo, strict=True))}
        t = Thresholds(category_weights=weights)
        predicted = [t.category_of(s) for s in scores]
        f1 = macro_f1(gold, predicted, labels)
        closeness = -sum(abs(w - 1.0) for w in combo)
        if (f1, closeness) > best[:2]:
            best = (f1, closeness, weights)
    return best[2]


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    total = 0.0
    for c in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == c and p != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        total += 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return total / len(labels)


def for_exclusive(confidences: Sequence[float], correct: Sequence[bool],
                  target_accuracy: float) -> float:
    """The lowest threshold at which what is decided (confidence >= t) is at
    least ``target_accuracy`` right: the most coverage at that accuracy. The
    candidates are the grid and every confidence seen (rounded down to four
    decimals), so the coverage is not lost between two grid steps."""
    candidates = sorted({*GRID, *(math.floor(c * 10_000) / 10_000 for c in confidences)})
    for t in candidates:
        decided = [ok for c, ok in zip(confidences, correct, strict=True) if c >= t]
        if decided and sum(decided) / len(decided) >= target_accuracy:
            return t
    return GRID[-1]


def for_binary(scores: Sequence[float], gold: Sequence[bool],
               recall_floor: float | None = None) -> float:
    """Best F1 threshold; with a recall floor, the highest threshold that keeps it."""
    positives = sum(gold)
    if positives == 0:
        return 0.5
    best_t, best_f1 = 0.5, -1.0
    floor_t = None
    for t in GRID:
        tp = sum(1 for s, g in zip(scores, gold, strict=True) if g and s >= t)
        fp = sum(1 for s, g in zip(scores, gold, strict=True) if not g and s >= t)
        recall = tp / positives
        precision = tp / (tp + fp) if tp + fp else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best_t, best_f1 = t, f1
        if recall_floor is not None and recall >= recall_floor:
            floor_t = t
    if recall_floor is not None:
        return min(best_t, floor_t) if floor_t is not None else GRID[0]
    return best_t


def calibrated(thresholds: Thresholds, scores: Sequence[dict[str, float]], gold: Sequence[str],
               labels: Sequence[str], target_accuracy: float) -> Thresholds:
    """``thresholds`` with the category's weights (prior correction), its
    temperature (honest confidence) and the confidence from which the
    machine decides alone (at ``target_accuracy``), all chosen on ``scores``
    and their ``gold`` categories."""
    weights = for_weights(scores, gold, labels)
    out = replace(thresholds, category_weights=weights,
                  temperature=fit_temperature(scores, gold, weights))
    confidences, correct = [], []
    for s, right in zip(scores, gold, strict=True):
        best = out.category_of(s)
        confidences.append(out.confidence(s, best))
        correct.append(best == right)
    out.category = for_exclusive(confidences, correct, target_accuracy)
    return out
