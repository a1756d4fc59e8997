"""Choosing thresholds and the category prior correction on dev (pure)."""

from __future__ import annotations

from classify.thresholds import Thresholds, for_binary, for_exclusive, for_weights, macro_f1

LABELS = ["klagomal", "synpunkt", "berom"]


def test_weights_undo_a_lean_towards_the_majority_class() -> None:
    # A model that gives klagomål a little too much: every berom scores 0.5
    # klagomål and 0.4 berom, every synpunkt 0.5/0.45.
    scores = ([{"klagomal": 0.8, "synpunkt": 0.1, "berom": 0.1}] * 10
              + [{"klagomal": 0.5, "synpunkt": 0.1, "berom": 0.4}] * 5
              + [{"klagomal": 0.5, "synpunkt": 0.45, "berom": 0.05}] * 5)
    gold = ["klagomal"] * 10 + ["berom"] * 5 + ["synpunkt"] * 5
    plain = [Thresholds().category_of(s) for s in scores]
    assert macro_f1(gold, plain, LABELS) < 0.5
    weights = for_weights(scores, gold, LABELS)
    assert weights["klagomal"] == 1.0 and weights["berom"] > 1.25 and weights["synpunkt"] > 1.1
    fixed = [Thresholds(category_weights=weights).category_of(s) for s in scores]
    assert macro_f1(gold, fixed, LABELS) == 1.0
    # Of equally good weights the smallest change wins: nothing to fix, nothing changed.
    assert for_weights(scores[:10], gold[:10], LABELS) == {c: 1.0 for c in LABELS}


def test_binary_threshold_keeps_the_recall_floor() -> None:
    scores = [0.9, 0.8, 0.3, 0.05, 0.6, 0.2, 0.1]
    gold = [True, True, True, True, False, False, False]
    t = for_binary(scores, gold, recall_floor=1.0)
    assert all(s >= t for s, g in zip(scores, gold, strict=True) if g)
    assert for_binary(scores, gold) > t  # best F1 alone gives up the weak positive


def test_exclusive_threshold_reaches_the_target_accuracy() -> None:
    conf = [0.95, 0.9, 0.85, 0.7, 0.6, 0.5]
    right = [True, True, True, False, True, False]
    t = for_exclusive(conf, right, 0.99)
    decided = [ok for c, ok in zip(conf, right, strict=True) if c >= t]
    assert decided == [True, True, True]
