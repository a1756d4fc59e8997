"""The one text the statistical model sees, at training and at prediction:
subject and text, sensitive spans masked, lower-cased (BOW features are
case-sensitive). Stop words are never removed: `inte`, `aldrig`, `ingen`,
`tack` and `beslut` carry the meaning here.

Modes (chosen by measurement, recorded in the model's meta.json):
``forms``  the words as written;
``lemmas`` each word replaced by its lemma (spaCy's Swedish lookup table),
           so `hemtjänsten`, `hemtjänstens` and `hemtjänst` are one feature;
``both``   the words as written followed by their lemmas.
"""

from __future__ import annotations

from functools import lru_cache

from classify.lemmas import Lemmas, lemma_table
from classify.sensitive import Sensitive, mask
from classify.tokens import Tokens

MODES = ("forms", "lemmas", "both")
DEFAULT_MODE = "lemmas"


# spaCy's vocabulary keeps every new word its tokenizer reads, for as long as
# the process lives: on the real-text yardstick, after 1,050 other mails,
# 28 new strings a text, with the model's 7 about 46 KB of memory a text,
# on and on (names, places, misspellings). Past this many the tokenizer is
# built anew (0.2 s, about every 3,600 such texts): a worker's memory stays
# bounded.
TOKENIZER_STRINGS = 100_000


@lru_cache(maxsize=1)
def _tokens() -> tuple[Tokens, int]:
    import spacy

    tokens = Tokens(spacy.blank("sv").tokenizer)
    return tokens, len(tokens.full.vocab.strings)


def _tools() -> tuple[Tokens, Lemmas]:
    tokens, at_start = _tokens()
    if len(tokens.full.vocab.strings) - at_start > TOKENIZER_STRINGS:
        _tokens.cache_clear()  # a thread still reading the old one keeps it
        tokens, at_start = _tokens()
    return tokens, lemma_table()


def warm() -> None:
    """Build the tokenizer and read the lemma table now (a long-lived process)."""
    _tools()


def lemmatize(text: str) -> str:
    """Each of spaCy's Swedish tokens of ``text`` replaced by its lemma,
    the tokens joined by spaces (``Tokens``: the special cases read only
    where one is written)."""
    tokens, table = _tools()
    return " ".join([table.get(t.text, t.text) for t in tokens(text)])


def model_text(subject: str, text: str, spans: list[Sensitive] | None = None,
               mode: str = DEFAULT_MODE) -> str:
    body = mask(text, spans)
    joined = (f"{mask(subject)}\n{body}" if subject else body).lower()
    if mode == "forms":
        return joined
    lemmas = lemmatize(joined)
    return lemmas if mode == "lemmas" else f"{joined}\n{lemmas}"
