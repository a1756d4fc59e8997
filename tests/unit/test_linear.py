"""The category model predicts with numpy what scikit-learn would, from plain files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from classify import linear
from classify.corpus import CATEGORIES, read
from classify.textprep import model_text
from classify.train import corpus_files

EXAMPLES = [e for e in read(corpus_files()) if e.split == "train"][:600]
TEXTS = [model_text(e.subject, e.text) for e in EXAMPLES]
LABELS = [e.category for e in EXAMPLES]
FLAGGED = [frozenset(e.flags) for e in EXAMPLES]
UNSEEN = [model_text(e.subject, e.text) for e in read(corpus_files()) if e.split == "test"][:200]


def test_predicts_what_scikit_learn_predicts(tmp_path: Path) -> None:
    vectorizer = TfidfVectorizer(ngram_range=linear.NGRAMS, sublinear_tf=True)
    reference = LogisticRegression(C=linear.REGULARISATION, max_iter=5000,
                                   class_weight="balanced")
    reference.fit(vectorizer.fit_transform(TEXTS), [CATEGORIES.index(x) for x in LABELS])
    expected = reference.predict_proba(vectorizer.transform(UNSEEN))

    linear.fit(TEXTS, LABELS, CATEGORIES).save(tmp_path / "category")
    loaded = linear.LinearCategory.load(tmp_path / "category")
    got = np.array([[p[c] for c in CATEGORIES] for p in loaded.probabilities(UNSEEN)])

    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4
    assert (got.argmax(1) == expected.argmax(1)).all()


def test_flags_are_what_scikit_learns_binary_models_say(tmp_path: Path) -> None:
    vectorizer = TfidfVectorizer(ngram_range=linear.NGRAMS, sublinear_tf=True)
    x = vectorizer.fit_transform(TEXTS)
    linear.fit(TEXTS, LABELS, CATEGORIES, FLAGGED).save(tmp_path / "m")
    loaded = linear.LinearCategory.load(tmp_path / "m")
    scores = loaded.scores(UNSEEN)
    for flag in linear.FLAGS:
        reference = LogisticRegression(C=linear.FLAG_REGULARISATION, max_iter=5000,
                                       class_weight="balanced")
        reference.fit(x, [flag in f for f in FLAGGED])
        expected = reference.predict_proba(vectorizer.transform(UNSEEN))[:, 1]
        got = np.array([flags[flag] for _, flags in scores])
        assert np.abs(got - expected).max() < 1e-4, flag


def test_text_without_a_known_word_gets_the_prior_not_an_error(tmp_path: Path) -> None:
    model = linear.fit(TEXTS, LABELS, CATEGORIES)
    (p,) = model.probabilities(["ö qqq"])
    assert abs(sum(p.values()) - 1.0) < 1e-9
    assert set(p) == set(CATEGORIES)


def test_ngrams_are_the_vectorizers() -> None:
    text = "hemtjänsten kom inte, igen! 3 ggr i v.12"
    analyzer = TfidfVectorizer(ngram_range=linear.NGRAMS).build_analyzer()
    assert linear.ngrams(text) == analyzer(text)


def test_the_same_model_is_the_same_bytes(tmp_path: Path) -> None:
    model = linear.fit(TEXTS, LABELS, CATEGORIES, FLAGGED)
    model.save(tmp_path / "a")
    linear.fit(TEXTS, LABELS, CATEGORIES, FLAGGED).save(tmp_path / "b")
    for name in ("terms.txt", "classes.txt", "flags.txt", "weights.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
