"""Per-label decision thresholds, chosen on the dev split (pure).

The cost of a miss is not symmetric: ``allvarlig_handelse`` is flagged at a
threshold low enough to catch nearly every serious incident on dev, at the
price of false alarms that a person dismisses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

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

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def for_exclusive(confidences: Sequence[float], correct: Sequence[bool],
                  target_accuracy: float) -> float:
    """The lowest threshold at which what is decided (confidence >= t) is at
    least ``target_accuracy`` right: the most coverage at that accuracy."""
    for t in GRID:
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
