"""Honest confidence (pure): the category scores made to mean what they say.

A bag-of-words model trained on tidy letters is sure of itself on text
unlike them: on real citizens' texts its wrong answers came with 0.95-1.00.
Temperature scaling (one number, fitted on the real yardstick) softens the
scores so that, of the answers given with 80 %, about 80 % are right; the
expected calibration error (ECE) says how far from that the scores are, and
the reliability table shows it bin by bin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TEMPERATURES = [round(0.5 + 0.05 * i, 2) for i in range(191)]  # 0.5 .. 10.0
BINS = 10


def softened(scores: Mapping[str, float], weights: Mapping[str, float],
             temperature: float) -> dict[str, float]:
    """The weighted category scores as probabilities at ``temperature``
    (1.0: the weighted scores, normalised)."""
    logits = {c: math.log(max(s * weights.get(c, 1.0), 1e-9)) / temperature
              for c, s in scores.items()}
    top = max(logits.values())
    exps = {c: math.exp(v - top) for c, v in logits.items()}
    total = sum(exps.values())
    return {c: v / total for c, v in exps.items()}


def fit_temperature(scores: Sequence[Mapping[str, float]], gold: Sequence[str],
                    weights: Mapping[str, float]) -> float:
    """The temperature that gives the gold categories the highest likelihood."""
    if not scores:
        return 1.0

    def nll(t: float) -> float:
        return -sum(math.log(max(softened(s, weights, t)[g], 1e-12))
                    for s, g in zip(scores, gold, strict=True))

    return min(TEMPERATURES, key=nll)


@dataclass(frozen=True, slots=True)
class Bin:
    low: float
    high: float
    n: int
    confidence: float  # mean confidence of the answers in the bin
    accuracy: float  # the share of them that were right


def reliability(confidences: Sequence[float], correct: Sequence[bool],
                bins: int = BINS) -> list[Bin]:
    out = []
    for i in range(bins):
        low, high = i / bins, (i + 1) / bins
        inside = [(c, ok) for c, ok in zip(confidences, correct, strict=True)
                  if low <= c < high or (i == bins - 1 and c == 1.0)]
        if inside:
            out.append(Bin(low, high, len(inside), sum(c for c, _ in inside) / len(inside),
                           sum(ok for _, ok in inside) / len(inside)))
    return out


def ece(confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> float:
    """Expected calibration error: the bins' |accuracy - confidence|, weighted by size."""
    n = len(confidences)
    if n == 0:
        return 0.0
    return sum(b.n / n * abs(b.accuracy - b.confidence)
               for b in reliability(confidences, correct, bins))
