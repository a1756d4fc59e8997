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


@lru_cache(maxsize=1)
def _tools() -> tuple[Tokens, Lemmas]:
    import spacy

    return Tokens(spacy.blank("sv").tokenizer), lemma_table()


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
