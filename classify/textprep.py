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
from typing import Any

from classify.sensitive import Sensitive, mask

MODES = ("forms", "lemmas", "both")
DEFAULT_MODE = "lemmas"


@lru_cache(maxsize=1)
def _tools() -> tuple[Any, Any]:
    import spacy
    from spacy.lookups import load_lookups

    tokenizer = spacy.blank("sv").tokenizer
    # A spaCy Table: keyed by string hashes, so look up with the string itself.
    table = load_lookups("sv", ["lemma_lookup"]).get_table("lemma_lookup")
    return tokenizer, table


def lemmatize(text: str) -> str:
    tokenizer, table = _tools()
    return " ".join(str(table.get(t.text, t.text)) for t in tokenizer(text))


def model_text(subject: str, text: str, spans: list[Sensitive] | None = None,
               mode: str = DEFAULT_MODE) -> str:
    body = mask(text, spans)
    joined = (f"{mask(subject)}\n{body}" if subject else body).lower()
    if mode == "forms":
        return joined
    lemmas = lemmatize(joined)
    return lemmas if mode == "lemmas" else f"{joined}\n{lemmas}"
