"""Honest confidence: temperature scaling, the calibration error, the
familiarity check and the formal-proposal cue."""

from __future__ import annotations

import random

import pytest

from classify.calibration import ece, fit_temperature, reliability, softened
from classify.cues import proposal
from classify.familiar import unknown_share, vocabulary


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident() -> None:
    rng = random.Random(7)
    honest = [(c, rng.random() < c) for c in (rng.uniform(0.5, 1.0) for _ in range(20_000))]
    assert ece([c for c, _ in honest], [ok for _, ok in honest]) < 0.02
    sure_and_wrong = [0.99] * 100
    assert ece(sure_and_wrong, [True] * 60 + [False] * 40) == pytest.approx(0.39, abs=1e-9)
    bins = reliability(sure_and_wrong, [True] * 60 + [False] * 40)
    assert [(b.n, b.accuracy) for b in bins] == [(100, 0.6)]


def test_a_temperature_fitted_on_overconfident_scores_softens_them() -> None:
    # The model says 0.95 for its choice; it is right 60 % of the time.
    scores = [{"a": 0.95, "b": 0.05}] * 100
    gold = ["a"] * 60 + ["b"] * 40
    t = fit_temperature(scores, gold, {})
    assert t > 2
    assert softened(scores[0], {}, t)["a"] == pytest.approx(0.6, abs=0.03)
    assert softened({"a": 0.9, "b": 0.1}, {}, 1.0)["a"] == pytest.approx(0.9)


def test_unfamiliar_text_is_told_from_familiar() -> None:
    known = vocabulary(["hemtjänst kom inte i morse till min mamma", "snö på gatan"])
    assert unknown_share("hemtjänst kom inte i morse till mamma", known) == 0.0
    assert unknown_share("lorem ipsum dolor sit amet consectetur", known) == 1.0
    assert unknown_share("kort text", known) is None


@pytest.mark.parametrize(("text", "formal"), [
    ("Jag föreslår att kommunen bygger en hundrastgård i Lövsta.", True),
    ("Medborgarförslag: fler bänkar längs Ekbyån", True),
    ("Mitt förslag är att biblioteket har öppet på söndagar.", True),
    ("Vi föreslår härmed att kultur- och fritidsnämnden", True),
    ("Det vore fint med fler bänkar längs ån.", False),
    ("Jag har ett förslag: ring tillbaka när ni lovat!", False),
])
def test_a_formal_proposal_names_itself(text: str, formal: bool) -> None:
    assert (proposal(text) is not None) == formal
