"""Word and phrase matching for the rules (pure).

An admin writes a word as the dictionary has it (`hemtjänst`); it must match
the way people write: `Hemtjänsten`, `HEMTJÄNSTENS`, and in an SMS typed
without å, ä and ö, `hemtjansten`. Each token of a message carries a few
*keys*: its lower-cased form, its lemma from spaCy's Swedish lookup table,
and the form with one common inflection ending taken off. A word in a rule
matches a token when their keys meet.

Diacritics are folded (`ä` -> `a`) only for a text written without any å, ä
or ö: folding everywhere would make `kärl` match the name `Karl` and `tömt`
match `tomten`.

`*` at the end of a word matches any continuation (`hemtjänst*` matches
`hemtjänstpersonalen`), at the start any beginning (`*skola` matches
`grundskolan`). `=fritids` matches that form only, not its lemma (`fritid`).
A phrase of several words matches the same words in a row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from classify.lemmas import lemma

TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# Swedish inflection endings, longest first: definite, plural, genitive.
ENDINGS = ("ornas", "arnas", "ernas", "orna", "arna", "erna", "ens", "ets", "ns",
           "en", "et", "er", "ar", "or", "na", "n", "t", "s")
MIN_STEM = 4  # shorter stems (mat, kost) come only from the lemma table


def fold(text: str) -> str:
    """Lower-case and drop diacritics: `Hemtjänsten` -> `hemtjansten`."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def _lemma(form: str) -> str:
    return lemma(form)


DIACRITICS = re.compile(r"[åäöéüÅÄÖÉÜ]")
EXACT = "="  # marks the key of a form matched as written


# Auxiliaries and other function words whose lookup-table lemma is a content
# word: `ska` and `skulle` -> skola, `vill` -> villa, `fick` -> ficka. They
# match only as written.
FUNCTION_WORDS = frozenset({
    "ska", "skall", "skulle", "kan", "kunde", "kunnat", "får", "fick", "fått", "vill", "ville",
    "velat", "har", "hade", "haft", "är", "var", "varit", "blir", "blev", "bli", "blivit",
    "gör", "gjorde", "gjort", "måste", "bör", "borde", "må", "lär", "tog", "sa", "sade",
})


@lru_cache(maxsize=200_000)
def token_keys(form: str) -> frozenset[str]:
    """Every key of one lower-cased token (see the module text)."""
    if form in FUNCTION_WORDS:
        return frozenset({form, EXACT + form})
    keys = {form, _lemma(form), EXACT + form}
    for ending in ENDINGS:
        if form.endswith(ending) and len(form) - len(ending) >= MIN_STEM:
            stem = form[: -len(ending)]
            keys.add(stem)
            if ending.startswith("or"):  # gatlamporna -> gatlampa
                keys.add(stem + "a")
            elif ending.startswith("ar"):  # pojkarna -> pojke
                keys.add(stem + "e")
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class Term:
    keys: frozenset[str]  # exact keys; empty for a wildcard term
    prefix: str | None = None  # `hemtjänst*`
    suffix: str | None = None  # `*skola`

    def matches(self, keys: frozenset[str]) -> bool:
        if self.prefix is not None:
            return any(k.startswith(self.prefix) for k in keys)
        if self.suffix is not None:
            return any(k.endswith(self.suffix) for k in keys)
        return not self.keys.isdisjoint(keys)


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # as the admin wrote it, for explanations
    terms: tuple[Term, ...]  # for a text with å, ä, ö
    folded: tuple[Term, ...]  # for a text written without them


def _term(word: str, f: Any, lemma: Callable[[str], str]) -> Term:
    if word.startswith(EXACT):
        return Term(frozenset({EXACT + f(word[1:])}))
    if word.endswith("*"):
        return Term(frozenset(), prefix=f(word[:-1]))
    if word.startswith("*"):
        return Term(frozenset(), suffix=f(word[1:]))
    return Term(frozenset({f(word), f(lemma(word))}))


def as_written(word: str) -> str:
    """A lemma function that knows no lemmas: the phrase's words only."""
    return word


def compile_phrase(text: str, lemma: Callable[[str], str] = _lemma) -> Phrase:
    """`Ekby centrum`, `hemtjänst*`, `=fritids`: ValueError when it is not words.
    ``lemma``: each word's lemma, also a key (``as_written``: none, for a
    check that need not read the lemma table: a lemma never makes a phrase
    invalid)."""
    words = [w for w in re.split(r"[\s\-–/]+", text.lower()) if w]
    if not words:
        raise ValueError("ett tomt ord")
    for word in words:
        if not TOKEN.fullmatch(word.strip("*").removeprefix(EXACT)):
            raise ValueError(f"{word!r} är inte ett ord (bokstäver och siffror, ev. * först "
                             "eller sist, = först); använd regex för annat")
    return Phrase(text, tuple(_term(w, str, lemma) for w in words),
                  tuple(_term(w, fold, lemma) for w in words))


@dataclass(frozen=True, slots=True)
class Tokens:
    """A text as the word matcher sees it: one key set per token. Wildcards
    match only if ``tokens_of`` was given a Vocabulary that holds them (the
    loader builds one for the whole rules file)."""

    forms: tuple[str, ...]
    keys: tuple[frozenset[str], ...]
    all_keys: frozenset[str]
    heads: frozenset[str]  # the vocabulary's `word*` that some token matches
    tails: frozenset[str]  # the vocabulary's `*word` that some token matches
    folded: bool  # written without å, ä and ö: match the folded words


class Vocabulary:
    """Every wildcard of a rules file, so that a message's tokens are checked
    against all of them once (and each distinct word only once per process)."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        terms = [t for p in phrases for t in (*p.terms, *p.folded)]
        self.prefixes = frozenset(t.prefix for t in terms if t.prefix is not None)
        self.suffixes = frozenset(t.suffix for t in terms if t.suffix is not None)
        # A token's beginnings and ends of these lengths are looked up, so a
        # new word costs a few set lookups, not one test per wildcard (real
        # mail brings thousands of new words: English, codes, base64).
        self._prefix_lengths = tuple(sorted({len(p) for p in self.prefixes if p}))
        self._suffix_lengths = tuple(sorted({len(x) for x in self.suffixes if x}))
        self._seen: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def ends(self, form: str) -> tuple[frozenset[str], frozenset[str]]:
        """The wildcard prefixes and suffixes that one token matches."""
        found = self._seen.get(form)
        if found is None:
            keys = token_keys(form)
            found = (frozenset(k[:n] for k in keys for n in self._prefix_lengths
                               if n <= len(k) and k[:n] in self.prefixes),
                     frozenset(k[-n:] for k in keys for n in self._suffix_lengths
                               if n <= len(k) and k[-n:] in self.suffixes))
            if len(self._seen) < 500_000:
                self._seen[form] = found
        return found


NO_WILDCARDS = Vocabulary(())


def tokens_of(text: str, vocabulary: Vocabulary = NO_WILDCARDS) -> Tokens:
    forms = tuple(TOKEN.findall(text.lower()))
    folded = DIACRITICS.search(text) is None
    if not forms:
        return Tokens((), (), frozenset(), frozenset(), frozenset(), folded)
    keys = tuple(token_keys(f) for f in forms)
    heads: set[str] = set()
    tails: set[str] = set()
    for form in set(forms):
        h, t = vocabulary.ends(form)
        heads |= h
        tails |= t
    return Tokens(forms, keys, frozenset().union(*keys), frozenset(heads), frozenset(tails),
                  folded)


def _at(terms: tuple[Term, ...], tokens: Tokens, i: int) -> bool:
    return all(t.matches(tokens.keys[i + j]) for j, t in enumerate(terms))


class _View:
    """The phrases of one set as seen in one writing (with or without å, ä, ö)."""

    def __init__(self, phrases: tuple[Phrase, ...], folded: bool) -> None:
        self.exact: dict[str, Phrase] = {}
        self.prefixes: dict[str, Phrase] = {}
        self.suffixes: dict[str, Phrase] = {}
        self.multi: list[tuple[Phrase, tuple[Term, ...], tuple[frozenset[str], ...]]] = []
        for p in phrases:
            terms = p.folded if folded else p.terms
            if len(terms) > 1:
                self.multi.append((p, terms, tuple(t.keys for t in terms if t.keys)))
                continue
            term = terms[0]
            if term.prefix is not None:
                self.prefixes.setdefault(term.prefix, p)
            elif term.suffix is not None:
                self.suffixes.setdefault(term.suffix, p)
            else:
                for key in term.keys:
                    self.exact.setdefault(key, p)
        self.exact_keys = frozenset(self.exact)
        self.prefix_keys = frozenset(self.prefixes)
        self.suffix_keys = frozenset(self.suffixes)

    def find(self, tokens: Tokens) -> tuple[str, Phrase] | None:
        if not self.exact_keys.isdisjoint(tokens.all_keys):
            common = self.exact_keys & tokens.all_keys
            for form, keys in zip(tokens.forms, tokens.keys, strict=True):
                hit = keys & common
                if hit:
                    return form, self.exact[min(hit)]
        for table, parts, ends, test in (
                (self.prefixes, self.prefix_keys, tokens.heads, str.startswith),
                (self.suffixes, self.suffix_keys, tokens.tails, str.endswith)):
            if not parts.isdisjoint(ends):
                part = min(parts & ends)
                form = next(f for f, k in zip(tokens.forms, tokens.keys, strict=True)
                            if any(test(x, part) for x in k))
                return form, table[part]
        present = tokens.all_keys
        for p, terms, plain in self.multi:
            missing = False
            for keys in plain:
                if keys.isdisjoint(present):
                    missing = True  # a plain word of the phrase is not in the text
                    break
            if missing:
                continue
            n, first = len(terms), terms[0]
            for i in range(len(tokens.keys) - n + 1):
                # a plain first word is one set test where it is not (most places)
                if (first.keys and first.keys.isdisjoint(tokens.keys[i])) or not _at(
                        terms, tokens, i):
                    continue
                return " ".join(tokens.forms[i:i + n]), p
        return None


class PhraseSet:
    """Many phrases compiled for speed: one set test for the plain words, one
    for the wildcards; phrases of several words are checked word by word only
    where all their plain words occur."""

    def __init__(self, phrases: tuple[Phrase, ...]) -> None:
        self.phrases = phrases
        self._views = (_View(phrases, folded=False), _View(phrases, folded=True))

    def find(self, tokens: Tokens) -> tuple[str, Phrase] | None:
        """The first matching phrase and the words of the text that matched."""
        return self._views[tokens.folded].find(tokens)
