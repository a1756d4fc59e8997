"""spaCy's tokenizer, with its special cases read only where one is written.

A spaCy tokenizer runs its special cases (``t.ex.``, ``kl.``, ``:)``) as a
phrase matcher over every text it tokenizes. On a citizen's Swedish text
that matcher costs ten to thirty times the tokenizing itself, and it changes
the tokens only where a special case stands in the text. ``Tokens`` reads
a text without the special cases first, and again with them only when one
of them starts at a token there. The tokens are the same either way: each
special case that changes a token's text is known by the first token it
makes without the special cases, so a text in which none of those tokens
begins its special case is tokenized alike both ways. A test holds the two
equal on the corpus and the real-text yardstick (tests/unit/test_textprep.py).

Used for the lemmas of the model's text (classify.textprep). The model's
own tokenizer reads that lemma text, in which the matcher costs little
(measured: no gain there)."""

from __future__ import annotations

from typing import Any


class Tokens:
    """``full``'s tokens of a text (a spaCy ``Doc`` on ``full``'s vocabulary)."""

    def __init__(self, full: Any) -> None:
        from spacy.attrs import ORTH
        from spacy.tokenizer import Tokenizer

        self.full, self._orth = full, ORTH
        self.plain = Tokenizer(full.vocab, rules=None, prefix_search=full.prefix_search,
                               suffix_search=full.suffix_search,
                               infix_finditer=full.infix_finditer,
                               token_match=full.token_match, url_match=full.url_match)
        special: dict[int, list[str]] = {}
        for case in full.rules or {}:
            plain = self.plain(case)
            if len(plain) and _texts(plain) != _texts(full(case)):
                special.setdefault(plain[0].orth, []).append(case)
        # by the hash of the first token each makes without the special cases
        self.special = {orth: tuple(cases) for orth, cases in special.items()}

    def __call__(self, text: str) -> Any:
        doc = self.plain(text)
        orths = doc.to_array(self._orth).tolist()
        found = self.special.keys() & set(orths)
        if found and any(text.startswith(case, doc[i].idx) for i, orth in enumerate(orths)
                         if orth in found for case in self.special[orth]):
            return self.full(text)
        return doc


def _texts(doc: Any) -> list[str]:
    return [t.text for t in doc]
