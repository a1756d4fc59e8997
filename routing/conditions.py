"""The conditions a rule's `when` is made of, and the facts they test (pure).

Each condition answers `test(facts) -> Verdict`: whether it holds and why, in
Swedish, so that `synpunkt triage --explain` and the case's explanation can
show exactly what a rule saw.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from classify.triage import Triage
from ingest.message import Message
from routing.words import NO_WILDCARDS, Phrase, PhraseSet, Tokens, Vocabulary, tokens_of


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules may look at for one message: computed once, then shared."""

    category: str | None
    flags: frozenset[str]
    channel: str
    sender: str | None
    language: str
    text: str  # subject and text, as written (for regex)
    tokens: Tokens
    suggested_enhet: str | None
    enhet_confidence: float
    extern: str | None  # the external instance the classifier names, if sure

    @classmethod
    def of(cls, message: Message, triage: Triage,
           vocabulary: Vocabulary = NO_WILDCARDS) -> Facts:
        text = f"{message.subject}\n{message.text}" if message.subject else message.text
        top = triage.top_enhet  # the model's best guess; the rule sets the bar
        return cls(
            category=str(triage.category) if triage.category else None,
            flags=frozenset(str(f) for f in triage.flags),
            channel=str(message.channel),
            sender=message.sender.lower() if message.sender else None,
            language=triage.language,
            text=text,
            tokens=tokens_of(text, vocabulary),
            suggested_enhet=top if top != "registrator" else None,
            enhet_confidence=triage.enhet_confidence,
            extern=triage.extern,
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    holds: bool
    why: str


class Condition(Protocol):
    def test(self, facts: Facts) -> Verdict: ...


def _listed(values: Sequence[str]) -> str:
    return ", ".join(values)


@dataclass(frozen=True, slots=True)
class OneOf:
    """One fact (category, channel or language) is one of ``values``."""

    fact: str  # the Facts field
    label: str  # how the explanation names it: "kategorin", "kanalen", "språket"
    values: tuple[str, ...]

    def test(self, facts: Facts) -> Verdict:
        value = getattr(facts, self.fact)
        ok = value in self.values
        return Verdict(ok, f"{self.label} är {value or 'okänd'}" + (
            "" if ok else f", inte {_listed(self.values)}"))


class FlagIn:
    def __init__(self, values: tuple[str, ...]) -> None:
        self.values = values
        self._miss = Verdict(False, f"ingen av flaggorna {_listed(values)} är satt")

    def test(self, facts: Facts) -> Verdict:
        if facts.flags.isdisjoint(self.values):
            return self._miss
        return Verdict(True, f"flaggan {_listed([f for f in self.values if f in facts.flags])} "
                             "är satt")


class Words:
    def __init__(self, phrases: tuple[Phrase, ...], label: str,
                 names: tuple[str, ...] = ()) -> None:
        self.phrases = PhraseSet(phrases)
        self.names = names  # the named lists used, for the explanation
        named = f"i {_listed(names)}" if names else _preview(phrases)
        self._miss = Verdict(False, f"inga av {label} {named} finns i texten")

    def test(self, facts: Facts) -> Verdict:
        found = self.phrases.find(facts.tokens)
        if found is not None:
            words, phrase = found
            source = f" (lista {_listed(self.names)})" if self.names else ""
            return Verdict(True, f"”{words}” i texten matchar ”{phrase.text}”{source}")
        return self._miss


def _preview(phrases: tuple[Phrase, ...]) -> str:
    shown = [p.text for p in phrases[:4]]
    return "(" + ", ".join(shown) + (", …" if len(phrases) > 4 else "") + ")"


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: re.Pattern[str]

    def test(self, facts: Facts) -> Verdict:
        m = self.pattern.search(facts.text)
        if m:
            return Verdict(True, f"uttrycket /{self.pattern.pattern}/ hittar ”{m.group(0)}”")
        return Verdict(False, f"uttrycket /{self.pattern.pattern}/ hittar inget")


@dataclass(frozen=True, slots=True)
class Sender:
    """Whole addresses (`a@b.se`), domains (`b.se` also matches sub-domains) or
    phone numbers."""

    values: tuple[str, ...]

    def test(self, facts: Facts) -> Verdict:
        sender = facts.sender
        if sender:
            domain = sender.rpartition("@")[2] if "@" in sender else None
            for v in self.values:
                if sender == v or (domain and "@" not in v and
                                   (domain == v or domain.endswith("." + v))):
                    return Verdict(True, f"avsändaren {sender} matchar {v}")
        return Verdict(False, f"avsändaren {sender or '(anonym)'} är inte {_listed(self.values)}")


@dataclass(frozen=True, slots=True)
class SuggestedEnhet:
    """The classifier's best enhet, at least this sure (and among `values`)."""

    min_confidence: float
    values: tuple[str, ...] = ()

    def test(self, facts: Facts) -> Verdict:
        s, c = facts.suggested_enhet, facts.enhet_confidence
        if s is None:
            return Verdict(False, "klassningen föreslår ingen enhet")
        if self.values and s not in self.values:
            return Verdict(False, f"klassningen föreslår {s}, inte {_listed(self.values)}")
        ok = c >= self.min_confidence
        return Verdict(ok, f"klassningen föreslår {s} ({c:.0%} säker, "
                           f"{'minst' if ok else 'under'} {self.min_confidence:.0%})")


@dataclass(frozen=True, slots=True)
class SuggestedExtern:
    """The classifier names an external instance (it does so only when sure)."""

    values: tuple[str, ...] = ()

    def test(self, facts: Facts) -> Verdict:
        x = facts.extern
        if x is None:
            return Verdict(False, "klassningen pekar inte ut någon annan myndighet")
        if self.values and x not in self.values:
            return Verdict(False, f"klassningen pekar ut {x}, inte {_listed(self.values)}")
        return Verdict(True, f"klassningen pekar ut {x}")


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Condition, ...]

    def test(self, facts: Facts) -> Verdict:
        reasons = []
        for part in self.parts:
            v = part.test(facts)
            if not v.holds:
                return Verdict(False, v.why)
            reasons.append(v.why)
        return Verdict(True, "; ".join(reasons) or "regeln gäller alla meddelanden")


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def test(self, facts: Facts) -> Verdict:
        reasons = []
        for part in self.parts:
            v = part.test(facts)
            if v.holds:
                return v
            reasons.append(v.why)
        return Verdict(False, " och ".join(reasons))


@dataclass(frozen=True, slots=True)
class Not:
    part: Condition

    def test(self, facts: Facts) -> Verdict:
        v = self.part.test(facts)
        return Verdict(not v.holds, f"inte: {v.why}")

