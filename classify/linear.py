"""The category model: a logistic regression over TF-IDF word unigrams and
bigrams of the prepared text (classify/textprep.py), chosen on the real
yardstick over spaCy's bag-of-words model (docs/classifier.md).

Trained with scikit-learn (`fit`); predicts with numpy alone from three
plain files, so a model directory holds no pickle and loading it runs no
code: ``terms.txt`` (one n-gram per line, in column order), ``weights.npz``
(idf, coefficients, intercepts) and ``classes.txt``. The arithmetic is
scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)``
followed by ``LogisticRegression.predict_proba``; a test holds the two equal.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
# Chosen on the real yardstick and the corpus's test split (benchmarks/RESULTS.md).
REGULARISATION = 1.8
NGRAMS = (1, 2)


def ngrams(text: str) -> list[str]:
    """The word unigrams and bigrams scikit-learn's vectorizer makes of ``text``."""
    words = TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass(frozen=True)
class LinearCategory:
    classes: tuple[str, ...]
    columns: dict[str, int]
    idf: npt.NDArray[np.float32]
    coef: npt.NDArray[np.float32]  # (classes, terms)
    intercept: npt.NDArray[np.float32]  # (classes,)

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Each prepared text's probability per class."""
        return [dict(zip(self.classes, (float(p) for p in row), strict=True))
                for row in self._matrix(texts)]

    def _matrix(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        logits = np.empty((len(texts), len(self.classes)))
        for i, text in enumerate(texts):
            counts = Counter(c for g in ngrams(text) if (c := self.columns.get(g)) is not None)
            if counts:
                cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype=np.float64,
                                 count=len(counts))
                x = tf * self.idf[cols]
                x /= float(np.sqrt(x @ x))
                logits[i] = self.coef[:, cols] @ x + self.intercept
            else:
                logits[i] = self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.columns, key=self.columns.__getitem__)
        (folder / "terms.txt").write_text("\n".join(terms) + "\n", "utf-8")
        (folder / "classes.txt").write_text("\n".join(self.classes) + "\n", "utf-8")
        _write_npz(folder / "weights.npz", idf=self.idf, coef=self.coef,
                   intercept=self.intercept)

    @classmethod
    def load(cls, folder: Path) -> LinearCategory:
        terms = (folder / "terms.txt").read_text("utf-8").split("\n")[:-1]
        classes = tuple((folder / "classes.txt").read_text("utf-8").split())
        with np.load(folder / "weights.npz", allow_pickle=False) as w:
            return cls(classes, {t: i for i, t in enumerate(terms)}, w["idf"], w["coef"],
                       w["intercept"])


def _write_npz(path: Path, **arrays: npt.NDArray[np.float32]) -> None:
    """numpy's .npz, but the same bytes for the same arrays (savez_compressed
    stamps each member with the time): a retrained model differs only where
    the model does."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def fit(texts: Sequence[str], labels: Sequence[str], classes: Sequence[str],
        regularisation: float = REGULARISATION) -> LinearCategory:
    """Train on prepared texts. Classes are weighted by their inverse frequency:
    the corpus's shares are not the mailbox's."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=NGRAMS, sublinear_tf=True, dtype=np.float64)
    x = vectorizer.fit_transform(texts)
    order = list(classes)
    model = LogisticRegression(C=regularisation, max_iter=5000, class_weight="balanced")
    model.fit(x, [order.index(label) for label in labels])
    present = [order[int(i)] for i in model.classes_]
    if present != order:
        raise ValueError(f"every class needs examples: {sorted(set(order) - set(present))}")
    return LinearCategory(tuple(order), {str(t): int(i) for t, i in vectorizer.vocabulary_.items()},
                          vectorizer.idf_.astype(np.float32), model.coef_.astype(np.float32),
                          model.intercept_.astype(np.float32))
