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
class Triage:
    category: Category | None  # None: the machine could not decide
    flags: frozenset[Flag] = frozenset()
    aspects: frozenset[str] = frozenset()
    extern: str | None = None  # id of an external instance (organisation.yaml)
    suggested_enhet: str | None = None
    confidence: float = 0.0
    needs_review: bool = True
    model: str = "none"


class Classifier(Protocol):
    def classify(self, message: Message) -> Triage: ...


class NoClassifier:
    """Used until a trained model exists: decides nothing, so a person reviews."""

    def classify(self, message: Message) -> Triage:
        return Triage(category=None, needs_review=True)
