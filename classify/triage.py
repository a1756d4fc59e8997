"""Triage: category, flags, aspects and how sure the machine is (labels.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ingest.message import Message


class Category(StrEnum):
    KLAGOMAL = "klagomal"
    SYNPUNKT = "synpunkt"
    BEROM = "berom"


class Flag(StrEnum):
    OVERKLAGANDE = "overklagande"
    FELANMALAN = "felanmalan"
    ALLVARLIG_HANDELSE = "allvarlig_handelse"
    EXTERN = "extern"
    MEDBORGARFORSLAG = "medborgarforslag"
    SEKRETESS = "sekretess"
    VALFARDSBROTT = "valfardsbrott"


@dataclass(frozen=True, slots=True)
class SensitiveSpan:
    kind: str  # personnummer, samordningsnummer, telefon, epost, diarienummer
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Triage:
    category: Category | None  # None: the machine could not decide
    flags: frozenset[Flag] = frozenset()
    aspects: frozenset[str] = frozenset()
    extern: str | None = None  # id of an external instance (organisation.yaml)
    suggested_enhet: str | None = None  # the owning enhet, when the model is sure enough
    top_enhet: str = "registrator"  # the model's best guess at the owner, sure or not
    enhet_confidence: float = 0.0
    confidence: float = 0.0  # of the category
    scores: tuple[tuple[str, float], ...] = ()  # every label's score, for the explanation
    language: str = "sv"
    sensitive_spans: tuple[SensitiveSpan, ...] = ()
    needs_review: bool = True
    review_reasons: tuple[str, ...] = ()  # why a person should look, in Swedish
    model_version: str = "none"


class Classifier(Protocol):
    def classify(self, message: Message) -> Triage: ...

    def classify_many(self, messages: list[Message]) -> list[Triage]: ...


class NoClassifier:
    """Used until a trained model exists: decides nothing, so a person reviews."""

    def classify(self, message: Message) -> Triage:
        return Triage(category=None, needs_review=True,
                      review_reasons=("Ingen klassningsmodell är tränad ännu.",))

    def classify_many(self, messages: list[Message]) -> list[Triage]:
        return [self.classify(m) for m in messages]
