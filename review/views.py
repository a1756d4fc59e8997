"""What the pages show: read models built from the case register (no HTML here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from cases.models import Case, CaseStatus, Event, Inbound, InboundStatus, Outbox, OutboxStatus
from classify.sensitive import find, identity_numbers, mask
from config.organisation import REGISTRATOR
from config.words import Words
from deadlines.calendar import STOCKHOLM

URGENT = ("akut", "hög")  # the priorities a list shows as a tag


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case in a list, in the words a person reads (ids only in ``id``)."""

    id: int
    diarienummer: str
    received: str
    channel: str
    subject: str  # personnummer masked; "" for a sekretess case
    category: str
    flags: list[str]
    priority: str  # "akut" or "hög" as a tag; "" for the ordinary ones
    enhet: str
    extern: str | None
    confidence: str
    next_due: date | None
    overdue: bool
    needs_review: bool
    restricted: bool
    status: str
    confirmable: bool  # the registrator may confirm the machine's labels as they are


def today(now: datetime) -> date:
    """The Swedish day it is: deadlines are days in Sweden."""
    return now.astimezone(STOCKHOLM).date()


def local(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def case_row(case: Case, today: date, words: Words) -> CaseRow:
    open_due = [d.due for d in case.deadlines if d.met_at is None]
    next_due = min(open_due) if open_due else None
    subject = "" if case.restricted else mask(case.subject)
    return CaseRow(
        case.id, case.diarienummer, local(case.received_at), words.channel(case.channel),
        subject, words.category(case.category) if case.category else "–",
        [words.flag(f) for f in case.flags],
        words.priority(case.priority) if case.priority in URGENT else "",
        words.enhet(case.enhet), words.extern(case.extern) if case.extern else None,
        percent(case.confidence), next_due,
        next_due is not None and next_due < today and case.status == CaseStatus.OPEN,
        case.needs_review, case.restricted, words.status(case.status),
        case.needs_review and case.status == CaseStatus.OPEN and bool(case.category)
        and case.enhet != REGISTRATOR,
    )


def case_rows(cases: list[Case], today: date, words: Words) -> list[CaseRow]:
    return [case_row(c, today, words) for c in cases]


def todays_rows(session: Session, now: datetime, words: Words, page: int,
                per_page: int) -> tuple[list[CaseRow], int]:
    """One page of the cases routed by the machine today (Swedish day),
    newest first, and how many there are."""
    start = now.astimezone(STOCKHOLM).replace(hour=0, minute=0, second=0, microsecond=0)
    # A rule decided (a case the registrator corrected or moved has none: not the machine's).
    where = (Case.needs_review.is_(False), Case.rule.is_not(None), Case.registered_at >= start)
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    cases = session.scalars(select(Case).options(selectinload(Case.deadlines)).where(*where)
                            .order_by(Case.id.desc()).offset((page - 1) * per_page)
                            .limit(per_page))
    return case_rows(list(cases), today(now), words), total


@dataclass(frozen=True, slots=True)
class InboundRow:
    id: int
    received: str
    source: str
    status: str
    reason: str


def _set_aside_where(days: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (or_(Inbound.status == InboundStatus.IGNORED,
                Inbound.status == InboundStatus.QUARANTINED),
            Inbound.received_at >= now - timedelta(days=days))


def set_aside_count(session: Session, days: int, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Inbound)
                          .where(*_set_aside_where(days, now))) or 0


def set_aside(session: Session, days: int, now: datetime, offset: int = 0,
              limit: int = 200) -> list[InboundRow]:
    """Ignored and quarantined input of the last ``days`` days, newest first."""
    rows = session.execute(
        select(Inbound.id, Inbound.received_at, Inbound.source, Inbound.status, Inbound.reason)
        .where(*_set_aside_where(days, now))
        .order_by(Inbound.id.desc()).offset(offset).limit(limit))
    return [InboundRow(i, local(at), src, st, (reason or "").split(": ", 1)[-1])
            for i, at, src, st, reason in rows]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    case_id: int | None
    diarienummer: str | None
    kind: str
    recipient: str
    status: str
    uncertain: bool
    since: str
    reason: str


KIND_NAMES = {"mottagningsbevis": "mottagningsbevis", "underrattelse": "underrättelse till chef",
              "sammanstallning": "sammanställning till chef",
              "forseningsbesked": "besked om försening"}
OUTBOX_STATUS_NAMES: dict[str, str] = {OutboxStatus.UNCERTAIN: "osäkert",
                                       OutboxStatus.FAILED: "misslyckades"}


def outbox_attention_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.status.in_([OutboxStatus.UNCERTAIN, OutboxStatus.FAILED]))) or 0


def outbox_attention(session: Session, offset: int = 0, limit: int = 200) -> list[OutboxRow]:
    """Outgoing messages a person must decide on: uncertain ones (did they
    reach the recipient?) first, then those that failed for good; newest first."""
    rows = session.execute(
        select(Outbox.id, Outbox.case_id, Case.diarienummer, Outbox.kind, Outbox.recipient,
               Outbox.status, Outbox.next_attempt_at, Outbox.last_error)
        .outerjoin(Case, Case.id == Outbox.case_id)
        .where(Outbox.status.in_([OutboxStatus.UNCERTAIN, OutboxStatus.FAILED]))
        .order_by(Outbox.status.desc(), Outbox.id.desc()).offset(offset).limit(limit))
    return [OutboxRow(i, case_id, dnr, KIND_NAMES.get(kind, kind), recipient,
                      OUTBOX_STATUS_NAMES.get(status, status), status == OutboxStatus.UNCERTAIN,
                      local(since), (error or "")[:200])
            for i, case_id, dnr, kind, recipient, status, since, error in rows]


def deidentified(session: Session, case_id: int) -> bool:
    """Was the case's text de-identified at registration (its routine says so)?"""
    return session.scalar(select(Event.id).where(
        Event.case_id == case_id, Event.kind == "case.deidentified").limit(1)) is not None


def shown_text(text: str, may_see_personnummer: bool) -> str:
    """The message text; personnummer masked unless the reader handles the case."""
    if may_see_personnummer:
        return text
    return mask(text, identity_numbers(find(text)))

