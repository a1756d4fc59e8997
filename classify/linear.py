"""The category model, and the flags it reads better than spaCy: logistic
regressions over TF-IDF word unigrams and bigrams of the prepared text
(classify/textprep.py), chosen on the real yardstick (the category) and the
corpus's test split (the flags) over spaCy's bag-of-words models
(docs/classifier.md).

Trained with scikit-learn (`fit`); predicts with numpy alone from plain
files, so a model directory holds no pickle and loading it runs no code:
``terms.txt`` (one n-gram per line, in column order), ``classes.txt``,
``flags.txt`` and ``weights.npz`` (idf, coefficients, intercepts). The
arithmetic is scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2),
sublinear_tf=True)`` followed by ``LogisticRegression.predict_proba``: one
multinomial model for the category, one binary model per flag; a test holds
the two equal.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from classify.recipe import FLAG_REGULARISATION, NGRAMS, REGULARISATION
from classify.recipe import LINEAR_FLAGS as FLAGS

TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


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
    flags: tuple[str, ...] = ()
    flag_coef: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float32))  # (flags, terms)
    flag_intercept: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float32))  # (flags,)

    def scores(self, texts: Sequence[str]) -> list[tuple[dict[str, float], dict[str, float]]]:
        """Each prepared text's probability per class, and per flag."""
        out = []
        for text in texts:
            cols, x = self._vector(text)
            logits = self.intercept.astype(np.float64)
            if cols.size:
                logits = logits + self.coef[:, cols] @ x
            exp = np.exp(logits - logits.max())
            category = exp / exp.sum()
            flag_logits = self.flag_intercept.astype(np.float64)
            if cols.size and self.flags:
                flag_logits = flag_logits + self.flag_coef[:, cols] @ x
            flags = 1.0 / (1.0 + np.exp(-flag_logits))
            out.append((dict(zip(self.classes, (float(p) for p in category), strict=True)),
                        dict(zip(self.flags, (float(p) for p in flags), strict=True))))
        return out

    def _vector(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The text's TF-IDF vector (L2-normalised): its columns and values."""
        counts = Counter(c for g in ngrams(text) if (c := self.columns.get(g)) is not None)
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype=np.float64,
                         count=len(counts))
        x = tf * self.idf[cols]
        norm = float(np.sqrt(x @ x))
        return cols, (x / norm if norm else x)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.columns, key=self.columns.__getitem__)
        (folder / "terms.txt").write_text("\n".join(terms) + "\n", "utf-8")
        (folder / "classes.txt").write_text("\n".join(self.classes) + "\n", "utf-8")
        (folder / "flags.txt").write_text("".join(f + "\n" for f in self.flags), "utf-8")
        _write_npz(folder / "weights.npz", idf=self.idf, coef=self.coef,
                   intercept=self.intercept, flag_coef=self.flag_coef,
                   flag_intercept=self.flag_intercept)

    @classmethod
    def load(cls, folder: Path) -> LinearCategory:
        terms = (folder / "terms.txt").read_text("utf-8").split("\n")[:-1]
        classes = tuple((folder / "classes.txt").read_text("utf-8").split())
        flags_file = folder / "flags.txt"
        flags = tuple(flags_file.read_text("utf-8").split()) if flags_file.exists() else ()
        with np.load(folder / "weights.npz", allow_pickle=False) as w:
            columns = {t: i for i, t in enumerate(terms)}
            if not flags:
                return cls(classes, columns, w["idf"], w["coef"], w["intercept"])
            return cls(classes, columns, w["idf"], w["coef"], w["intercept"], flags,
                       w["flag_coef"], w["flag_intercept"])


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
        flags: Sequence[frozenset[str]] | None = None,
        regularisation: float = REGULARISATION) -> LinearCategory:
    """Train on prepared texts: the category, and each of ``FLAGS`` when the
    texts' ``flags`` are given. Classes (and a flag's yes and no) are weighted
    by their inverse frequency: the corpus's shares are not the mailbox's."""
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
    flag_names = FLAGS if flags is not None else ()
    coefs, intercepts = [], []
    for flag in flag_names:
        assert flags is not None
        gold = [flag in f for f in flags]
        if len(set(gold)) < 2:
            raise ValueError(f"the flag {flag} needs examples with and without it")
        binary = LogisticRegression(C=FLAG_REGULARISATION, max_iter=5000,
                                    class_weight="balanced").fit(x, gold)
        coefs.append(binary.coef_[0])
        intercepts.append(binary.intercept_[0])
    n = x.shape[1]
    return LinearCategory(
        tuple(order), {str(t): int(i) for t, i in vectorizer.vocabulary_.items()},
        vectorizer.idf_.astype(np.float32), model.coef_.astype(np.float32),
        model.intercept_.astype(np.float32), tuple(flag_names),
        np.array(coefs, dtype=np.float32).reshape(len(flag_names), n),
        np.array(intercepts, dtype=np.float32))
