"""The linear model predicts with numpy what scikit-learn would, from plain files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from classify import linear
from classify.corpus import CATEGORIES, read
from classify.recipe import corpus_files
from classify.textprep import model_text

EXAMPLES = [e for e in read(corpus_files()) if e.split == "train"][:600]
TEXTS = [model_text(e.subject, e.text) for e in EXAMPLES]
LABELS = [e.category for e in EXAMPLES]
FLAGGED = [frozenset(e.flags) for e in EXAMPLES]
UNSEEN = [model_text(e.subject, e.text) for e in read(corpus_files()) if e.split == "test"][:200]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model trained and written to disk: what a model directory holds."""
    folder = tmp_path_factory.mktemp("linear") / "category"
    linear.fit(TEXTS, LABELS, CATEGORIES, FLAGGED).save(folder)
    return folder


def test_predicts_what_scikit_learn_predicts(saved: Path) -> None:
    vectorizer = TfidfVectorizer(ngram_range=linear.NGRAMS, sublinear_tf=True)
    x = vectorizer.fit_transform(TEXTS)
    reference = LogisticRegression(C=linear.REGULARISATION, max_iter=5000,
                                   class_weight="balanced")
    reference.fit(x, [CATEGORIES.index(c) for c in LABELS])
    expected = reference.predict_proba(vectorizer.transform(UNSEEN))
    scores = linear.LinearCategory.load(saved).scores(UNSEEN)

    got = np.array([[category[c] for c in CATEGORIES] for category, _ in scores])
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4
    assert (got.argmax(1) == expected.argmax(1)).all()
    for flag in linear.FLAGS:
        binary = LogisticRegression(C=linear.FLAG_REGULARISATION, max_iter=5000,
                                    class_weight="balanced")
        binary.fit(x, [flag in f for f in FLAGGED])
        flag_expected = binary.predict_proba(vectorizer.transform(UNSEEN))[:, 1]
        flag_got = np.array([flags[flag] for _, flags in scores])
        assert np.abs(flag_got - flag_expected).max() < 1e-4, flag


def test_text_without_a_known_word_gets_the_prior_not_an_error(saved: Path) -> None:
    [(category, flags)] = linear.LinearCategory.load(saved).scores(["ö qqq"])
    assert abs(sum(category.values()) - 1.0) < 1e-9
    assert set(category) == set(CATEGORIES)
    assert set(flags) == set(linear.FLAGS) and all(0.0 < p < 1.0 for p in flags.values())


def test_ngrams_are_the_vectorizers() -> None:
    text = "hemtjänsten kom inte, igen! 3 ggr i v.12"
    analyzer = TfidfVectorizer(ngram_range=linear.NGRAMS).build_analyzer()
    assert linear.ngrams(text) == analyzer(text)


def test_the_same_model_is_the_same_bytes(saved: Path, tmp_path: Path) -> None:
    linear.fit(TEXTS, LABELS, CATEGORIES, FLAGGED).save(tmp_path / "again")
    for name in ("terms.txt", "classes.txt", "flags.txt", "weights.npz"):
        assert (saved / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
