"""The routing decision and the router seam."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from classify.triage import Triage
from config.organisation import REGISTRATOR
from ingest.message import Message


@dataclass(frozen=True, slots=True)
class Decision:
    enhet: str  # an enhet id; "registrator" for manual review
    extern: str | None
    rule: str | None  # id of the deciding rule, None when no rule decided
    explanation: str  # Swedish, for the registrator and the audit log
    needs_review: bool
    rules_version: str
    routine: str | None = None  # a routine profile id overriding the default


class Router(Protocol):
    def route(self, message: Message, triage: Triage) -> Decision: ...


class SuggestionRouter:
    """Until routing rules are configured: follow the classifier where it is
    sure, the registrator everywhere else."""

    def route(self, message: Message, triage: Triage) -> Decision:
        version = f"suggestion:{triage.model_version}"
        if triage.extern:
            return Decision(REGISTRATOR, triage.extern, "modellens-forslag",
                            f"Frågan hör till en annan myndighet eller ett annat bolag "
                            f"({triage.extern}); registratorn lotsar avsändaren rätt.",
                            True, version)
        if triage.suggested_enhet == REGISTRATOR:
            return Decision(REGISTRATOR, None, None, "Meddelandet säger inte vilken enhet som "
                            "ansvarar: registratorn fördelar det.", True, version)
        if triage.needs_review or triage.suggested_enhet is None:
            why = "; ".join(triage.review_reasons) or (
                f"osäkert vilken enhet som ansvarar ({triage.enhet_confidence:.0%})")
            return Decision(REGISTRATOR, None, None, f"Registratorn granskar: {why}.", True,
                            version)
        return Decision(triage.suggested_enhet, None, "modellens-forslag",
                        f"Klassningsmodellen föreslår {triage.suggested_enhet} "
                        f"({triage.enhet_confidence:.0%} säker).", False, version)
