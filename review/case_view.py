"""The case page in words: every id the case keeps (category, flags,
channel, status, enhet, external instance, routine, deadline kinds, event
kinds) shown as the vocabulary names it (config.words), the timeline as
sentences, times in Swedish time with the zone named once on the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import lifecycle
from cases.lifecycle import INTERNAL_KINDS
from cases.models import Case, Event
from config.words import Words
from notify.digest import HANDOVER
from notify.notices import ROLE_NAMES
from review.views import local

ZONE_NOTE = "Tiderna är svensk tid (Europe/Stockholm)."
SYSTEM_ACTORS = {"system:ingest": "Synpunkt", "system:notify": "Synpunkt",
                 "system:scheduler": "Synpunkt", "system:gallring": "Synpunkt"}
_LABELS = {"category": "kategori", "enhet": "enhet", "flags": "flaggor", "extern": "hänvisning"}




@dataclass(frozen=True, slots=True)
class DeadlineView:
    due: date
    description: str
    met_at: str | None
    overdue: bool
    kind: str = ""


@dataclass(frozen=True, slots=True)
class EventView:
    at: str
    what: str
    actor: str


@dataclass(frozen=True, slots=True)
class Facts:
    """The case's labels in words, for the page's tags and sentences."""

    category: str
    flags: list[str]
    channel: str
    status: str
    enhet: str
    extern: str | None
    routine: str


def facts(case: Case, words: Words) -> Facts:
    return Facts(
        category=words.category(case.category) if case.category else "",
        flags=[words.flag(f) for f in case.flags], channel=words.channel(case.channel),
        status=words.status(case.status), enhet=words.enhet(case.enhet),
        extern=words.extern(case.extern) if case.extern else None,
        routine=words.routine(case.routine))


def deadlines(case: Case, today: date, words: Words) -> list[DeadlineView]:
    return [DeadlineView(d.due, d.description or words.deadline(d.kind),
                         local(d.met_at) if d.met_at else None,
                         d.met_at is None and d.due < today, d.kind) for d in case.deadlines]


def open_stages(case: Case, words: Words) -> list[tuple[str, str]]:
    """(kind, description) of each återkoppling stage still open, earliest first."""
    return [(d.kind, d.description or words.deadline(d.kind))
            for d in lifecycle.open_stages(case)]


def assessment_open(case: Case) -> bool:
    """Is the same-day assessment of a possible serious incident still owed?"""
    return any(d.met_at is None and d.kind in INTERNAL_KINDS for d in case.deadlines)


def actor(name: str) -> str:
    if name in SYSTEM_ACTORS or name.startswith("system:"):
        return SYSTEM_ACTORS.get(name, "Synpunkt")
    return name.removeprefix("user:")


def _value(key: str, value: object, words: Words) -> str:
    if key == "flags":
        flags = [str(f) for f in value] if isinstance(value, list) else []
        return words.flags(flags) if flags else "inga"
    if value is None or value == "":
        return "ingen"
    if key == "category":
        return words.category(str(value))
    if key == "enhet":
        return words.enhet(str(value))
    if key == "extern":
        return words.extern(str(value))
    return str(value)


def event_text(event: Event, words: Words) -> str:
    """One event as a sentence: "rättat (flaggor: annan myndighets fråga → inga)"."""
    detail = event.detail or {}
    what = words.event(event.kind)
    if event.kind == "case.corrected":
        changes = detail.get("changes") or {}
        parts = [f"{_LABELS.get(k, k)}: {_value(k, pair[0], words)} → "
                 f"{_value(k, pair[1], words)}"
                 for k, pair in changes.items() if isinstance(pair, list) and len(pair) == 2]
        return f"{what} ({'; '.join(parts)})" if parts else what
    if event.kind == "case.rescheduled":
        kinds = detail.get("deadlines") or []
        named = ", ".join(words.deadline(str(k)) for k in kinds) or "inga nya frister"
        return f"{what}: {words.routine(str(detail.get('routine') or ''))} ({named})"
    if event.kind == "case.returned":
        note = detail.get("note")
        from_enhet = words.enhet(str(detail.get("enhet") or ""))
        return f"{what} från {from_enhet}" + (f": {note}" if note else "")
    if event.kind == "case.told_in_digest":  # to whom, and as what
        roles = [str(r) for r in detail.get("roles") or []]
        chef = ["till enhetschefen att handlägga"] if HANDOVER in roles else []
        told = [ROLE_NAMES.get(r, r) for r in roles if r != HANDOVER]
        parts = chef + ([f"för kännedom till {' och '.join(told)}"] if told else [])
        return f"{what}: {', '.join(parts)}" if parts else what
    if event.kind == "case.assigned" and detail.get("handler"):
        return f"{what}: {detail['handler']}"
    note = detail.get("note") or detail.get("reason")
    if isinstance(note, str) and note:
        return f"{what}: {note}"
    return what


def timeline(session: Session, case_id: int, words: Words) -> list[EventView]:
    events = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id))
    return [EventView(local(e.at), event_text(e, words), actor(e.actor)) for e in events]


def returned_note(session: Session, case: Case) -> tuple[str, str] | None:
    """The chef's note when the case came back to review ("fel enhet"), and
    who wrote it; None unless the case waits in review after a return."""
    if not case.needs_review:
        return None
    event = session.scalar(select(Event).where(
        Event.case_id == case.id, Event.kind.in_(("case.returned", "case.corrected",
                                                  "case.confirmed")))
        .order_by(Event.id.desc()).limit(1))
    if event is None or event.kind != "case.returned":
        return None
    return str(event.detail.get("note") or ""), actor(event.actor)


def explanation(case: Case, words: Words) -> str:
    """"Varför hit?" without configuration ids: the rule named by its
    description, the external instance by its name."""
    return words.why(case.explanation or "", case.rule)
