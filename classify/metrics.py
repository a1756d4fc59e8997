"""Evaluation figures (pure): per-class precision/recall/F1, macro-F1, the
confusion matrix, flag precision/recall, coverage and accuracy of what was
decided, how often a case wrongly ends extern, and the calibration (ECE and
the reliability table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from classify.calibration import ece, reliability


@dataclass(frozen=True, slots=True)
class Scored:
    gold_category: str
    predicted_category: str  # the model's best guess, decided or not
    decided: bool  # confident enough not to need review
    gold_flags: frozenset[str]
    predicted_flags: frozenset[str]
    gold_enhet: str
    predicted_enhet: str | None  # the confident suggestion, None below its threshold
    top_enhet: str  # the model's best guess, decided or not
    gold_extern: str | None
    predicted_extern: str | None
    confidence: float = 0.0  # the category's (calibrated) confidence


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "support": tp + fn}


def evaluate(rows: Sequence[Scored], categories: Sequence[str],
             flags: Sequence[str]) -> dict[str, Any]:
    n = len(rows)
    per_class = {}
    for c in categories:
        tp = sum(1 for r in rows if r.gold_category == c and r.predicted_category == c)
        fp = sum(1 for r in rows if r.gold_category != c and r.predicted_category == c)
        fn = sum(1 for r in rows if r.gold_category == c and r.predicted_category != c)
        per_class[c] = prf(tp, fp, fn)
    confusion = {g: {p: sum(1 for r in rows if r.gold_category == g and
                            r.predicted_category == p) for p in categories}
                 for g in categories}
    decided = [r for r in rows if r.decided]
    flag_scores = {}
    for f in flags:
        tp = sum(1 for r in rows if f in r.gold_flags and f in r.predicted_flags)
        fp = sum(1 for r in rows if f not in r.gold_flags and f in r.predicted_flags)
        fn = sum(1 for r in rows if f in r.gold_flags and f not in r.predicted_flags)
        flag_scores[f] = prf(tp, fp, fn)
    accuracy = sum(1 for r in rows if r.gold_category == r.predicted_category) / n if n else 0.0
    return {
        "n": n,
        "category": {
            "macro_f1": round(sum(v["f1"] for v in per_class.values()) / len(categories), 4),
            "accuracy": round(accuracy, 4),
            "per_class": per_class,
            "confusion": confusion,
        },
        "enhet": {
            "accuracy": round(
                sum(1 for r in rows if r.predicted_enhet == r.gold_enhet) / n if n else 0.0, 4),
            "top1_accuracy": round(
                sum(1 for r in rows if r.top_enhet == r.gold_enhet) / n if n else 0.0, 4),
            # Sent to an enhet at all (not left to the registrator), and how
            # often that enhet is the right one.
            "coverage": round(sum(1 for r in rows if _routed(r)) / n if n else 0.0, 4),
            "decided_accuracy": _share(
                [r.predicted_enhet == r.gold_enhet for r in rows if _routed(r)]),
        },
        "extern": {
            "accuracy": round(
                sum(1 for r in rows if r.predicted_extern == r.gold_extern) / n if n else 0.0, 4),
            "recall": _share([r.predicted_extern is not None and r.gold_extern in (
                None, r.predicted_extern) for r in rows if _extern(r)]),
            # Cases that end extern (as the registrator sees them) whose
            # matter is the kommun's own, as a share of all.
            "false_rate": _share([r.predicted_extern is not None and not _extern(r)
                                  for r in rows]),
        },
        "calibration": _calibration(rows),
        "flags": flag_scores,
        "coverage": round(len(decided) / n if n else 0.0, 4),
        "decided_accuracy": round(
            sum(1 for r in decided if r.gold_category == r.predicted_category) / len(decided)
            if decided else 0.0, 4),
    }


def _extern(r: Scored) -> bool:
    return r.gold_extern is not None or "extern" in r.gold_flags


def _calibration(rows: Sequence[Scored]) -> dict[str, Any]:
    confidences = [r.confidence for r in rows]
    correct = [r.gold_category == r.predicted_category for r in rows]
    return {"ece": round(ece(confidences, correct), 4),
            "bins": [{"low": b.low, "high": b.high, "n": b.n,
                      "confidence": round(b.confidence, 4), "accuracy": round(b.accuracy, 4)}
                     for b in reliability(confidences, correct)]}


def _routed(r: Scored) -> bool:
    return r.predicted_enhet is not None and r.predicted_enhet != "registrator"


def _share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0
