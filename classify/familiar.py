"""Is a text like anything the model was trained on (pure)? The share of its
words the training corpus never used: a text mostly made of unknown words
(another language, a trade's jargon, a spam) is out of the model's
experience, and its scores say little, however sure they look."""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]{3,}")
MIN_WORDS = 6  # shorter texts are judged by the category's confidence alone
UNFAMILIAR = 0.45  # from this share of unknown words the text goes to a person


def words(model_text: str) -> list[str]:
    return _WORD.findall(model_text)


def vocabulary(model_texts: Iterable[str]) -> frozenset[str]:
    return frozenset(w for t in model_texts for w in words(t))


def unknown_share(model_text: str, known: frozenset[str]) -> float | None:
    """The share of the text's words outside ``known``; None for a short text."""
    found = words(model_text)
    if len(found) < MIN_WORDS or not known:
        return None
    return sum(1 for w in found if w not in known) / len(found)
