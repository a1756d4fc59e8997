"""The routing decision and the router seam."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from classify.triage import Triage
from ingest.message import Message


@dataclass(frozen=True, slots=True)
class Tried:
    """One rule tried for one message: whether it matched and why."""

    rule: str
    matched: bool
    why: str  # Swedish
    decided: bool = False  # this rule chose the destination


@dataclass(frozen=True, slots=True)
class Decision:
    enhet: str  # an enhet id; "registrator" for manual review
    extern: str | None
    rule: str | None  # id of the deciding rule, None when no rule decided
    explanation: str  # Swedish, for the registrator and the audit log
    needs_review: bool
    rules_version: str
    routine: str | None = None  # a routine profile id overriding the default
    notify: tuple[str, ...] = ()  # roles or addresses told about the case at once
    priority: str = "normal"
    flags: frozenset[str] = frozenset()  # flags the rules added
    trace: tuple[Tried, ...] = ()  # every rule tried, in order

    @property
    def urgent(self) -> bool:
        return self.priority == "akut"

    def case_flags(self, triage: Triage) -> list[str]:
        """The flags a case carries: the classifier's and the rules' additions.
        The classifier raises `extern` early, as a hint for the rules; the case
        is extern only when the decision names an external instance."""
        flags = {str(f) for f in triage.flags} | set(self.flags)
        if self.extern:
            flags.add("extern")
        else:
            flags.discard("extern")
        return sorted(flags)


class Router(Protocol):
    def route(self, message: Message, triage: Triage) -> Decision: ...
