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

from classify.lemmas import lemma_table
from classify.sensitive import Sensitive, mask

MODES = ("forms", "lemmas", "both")
DEFAULT_MODE = "lemmas"


@lru_cache(maxsize=1)
def _tools() -> tuple[Any, Any, dict[str, tuple[str, ...]], dict[str, str]]:
    """spaCy's Swedish tokenizer; the same without its special cases; the
    special cases that tokenize otherwise than that, by their first token
    there; and the lemma table."""
    import spacy
    from spacy.tokenizer import Tokenizer

    full: Any = spacy.blank("sv").tokenizer  # a Tokenizer, typed as any callable
    plain = Tokenizer(full.vocab, rules=None, prefix_search=full.prefix_search,
                      suffix_search=full.suffix_search, infix_finditer=full.infix_finditer,
                      token_match=full.token_match, url_match=full.url_match)
    special: dict[str, list[str]] = {}
    for case in full.rules or {}:
        tokens = [t.text for t in plain(case)]
        if tokens and tokens != [t.text for t in full(case)]:
            special.setdefault(tokens[0], []).append(case)
    return full, plain, {first: tuple(cases) for first, cases in special.items()}, lemma_table()


def lemmatize(text: str) -> str:
    """Each token of ``text`` replaced by its lemma, the tokens joined by
    spaces. The tokens are spaCy's Swedish tokenizer's. Its special cases
    (``t.ex.``, ``kl.``, ``:)``) cost a text twenty times its tokenizing
    (the special-case matcher runs over every text), and they change
    the tokens only where one of them is written out: so the text is
    tokenized without them, and again with them only when one stands at a
    token's start. The tokens are the same either way."""
    full, plain, special, table = _tools()
    doc = plain(text)
    words = [t.text for t in doc]
    if any(w in special and any(text.startswith(case, doc[i].idx) for case in special[w])
           for i, w in enumerate(words)):
        words = [t.text for t in full(text)]
    return " ".join([table.get(w, w) for w in words])


def model_text(subject: str, text: str, spans: list[Sensitive] | None = None,
               mode: str = DEFAULT_MODE) -> str:
    body = mask(text, spans)
    joined = (f"{mask(subject)}\n{body}" if subject else body).lower()
    if mode == "forms":
        return joined
    lemmas = lemmatize(joined)
    return lemmas if mode == "lemmas" else f"{joined}\n{lemmas}"
