"""What the pages show: read models built from the case register (no HTML here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from cases import lifecycle
from cases.models import Case, CaseStatus, Event, Inbound, InboundStatus, Outbox, OutboxStatus
from classify.sensitive import find, identity_numbers, mask
from deadlines.calendar import STOCKHOLM

CATEGORY_NAMES = {"klagomal": "klagomål", "synpunkt": "synpunkt", "berom": "beröm"}
STATUS_NAMES = {"open": "öppet", "feedback_given": "återkoppling lämnad", "closed": "avslutat"}


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    diarienummer: str
    received: str
    channel: str
    subject: str
    category: str
    flags: list[str]
    enhet: str
    extern: str | None
    confidence: str
    next_due: date | None
    overdue: bool
    needs_review: bool
    restricted: bool
    status: str
    rule: str
    explanation: str


def today(now: datetime) -> date:
    """The Swedish day it is: deadlines are days in Sweden."""
    return now.astimezone(STOCKHOLM).date()


def local(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _row(case: Case, today: date, enhet_names: dict[str, str]) -> CaseRow:
    open_due = [d.due for d in case.deadlines if d.met_at is None]
    next_due = min(open_due) if open_due else None
    return CaseRow(
        case.id, case.diarienummer, local(case.received_at), case.channel,
        mask(case.subject), CATEGORY_NAMES.get(case.category or "", "–"), list(case.flags),
        enhet_names.get(case.enhet, case.enhet), case.extern, percent(case.confidence),
        next_due, next_due is not None and next_due < today and case.status == CaseStatus.OPEN,
        case.needs_review, case.restricted, STATUS_NAMES.get(case.status, case.status),
        case.rule or "ingen regel", case.explanation,
    )


def _cases(session: Session, *where: ColumnElement[bool]) -> list[Case]:
    stmt = (select(Case).options(selectinload(Case.deadlines)).where(*where)
            .order_by(Case.id.desc()))
    return list(session.scalars(stmt))


def review_rows(session: Session, today: date, names: dict[str, str]) -> list[CaseRow]:
    """Cases the registrator must look at, oldest first."""
    cases = _cases(session, Case.needs_review.is_(True), Case.status != CaseStatus.CLOSED)
    return [_row(c, today, names) for c in reversed(cases)]


def todays_rows(session: Session, now: datetime, names: dict[str, str]) -> list[CaseRow]:
    """Cases routed by the machine today (Swedish day), newest first."""
    start = now.astimezone(STOCKHOLM).replace(hour=0, minute=0, second=0, microsecond=0)
    cases = _cases(session, Case.needs_review.is_(False), Case.registered_at >= start)
    return [_row(c, now.astimezone(STOCKHOLM).date(), names) for c in cases]


def all_rows(session: Session, today: date, names: dict[str, str]) -> list[CaseRow]:
    return [_row(c, today, names) for c in _cases(session)]


def enhet_rows(session: Session, enhet: str, today: date, names: dict[str, str]) -> list[CaseRow]:
    """A chef's open cases: overdue first, then by the nearest deadline."""
    rows = [_row(c, today, names) for c in _cases(
        session, Case.enhet == enhet, Case.status != CaseStatus.CLOSED)]
    far = date.max
    return sorted(rows, key=lambda r: (not r.overdue, r.next_due or far, r.id))


@dataclass(frozen=True, slots=True)
class InboundRow:
    id: int
    received: str
    source: str
    status: str
    reason: str


def set_aside(session: Session, days: int, now: datetime) -> list[InboundRow]:
    """Ignored and quarantined input of the last ``days`` days, newest first."""
    rows = session.execute(
        select(Inbound.id, Inbound.received_at, Inbound.source, Inbound.status, Inbound.reason)
        .where(or_(Inbound.status == InboundStatus.IGNORED,
                   Inbound.status == InboundStatus.QUARANTINED),
               Inbound.received_at >= now - timedelta(days=days))
        .order_by(Inbound.id.desc()).limit(200))
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


def outbox_attention(session: Session) -> list[OutboxRow]:
    """Outgoing messages a person must decide on: uncertain ones (did they
    reach the recipient?) first, then those that failed for good; newest first."""
    rows = session.execute(
        select(Outbox.id, Outbox.case_id, Case.diarienummer, Outbox.kind, Outbox.recipient,
               Outbox.status, Outbox.next_attempt_at, Outbox.last_error)
        .outerjoin(Case, Case.id == Outbox.case_id)
        .where(Outbox.status.in_([OutboxStatus.UNCERTAIN, OutboxStatus.FAILED]))
        .order_by(Outbox.status.desc(), Outbox.id.desc()).limit(200))
    return [OutboxRow(i, case_id, dnr, KIND_NAMES.get(kind, kind), recipient,
                      OUTBOX_STATUS_NAMES.get(status, status), status == OutboxStatus.UNCERTAIN,
                      local(since), (error or "")[:200])
            for i, case_id, dnr, kind, recipient, status, since, error in rows]


@dataclass(frozen=True, slots=True)
class DeadlineView:
    due: date
    description: str
    met_at: datetime | None
    overdue: bool
    kind: str = ""


@dataclass(frozen=True, slots=True)
class EventView:
    at: str
    what: str
    actor: str


EVENT_WORDS = {
    "case.registered": "registrerat", "case.reply_received": "svar från avsändaren",
    "case.feedback_given": "återkoppling lämnad", "case.closed": "avslutat",
    "case.corrected": "rättat", "case.confirmed": "granskat och bekräftat",
    "case.note": "anteckning", "case.delay_reason": "orsak till försening",
    "inbound.processed": "meddelandet behandlat", "case.attachment_downloaded": "bilaga hämtad",
    "mottagningsbevis.uncertain": "mottagningsbevis: oklart om det skickades",
    "mottagningsbevis.reconciled": "mottagningsbevis: avstämt mot sms-leverantören",
    "mottagningsbevis.queued": "mottagningsbevis köat",
    "mottagningsbevis.sent": "mottagningsbevis skickat",
    "mottagningsbevis.delivered": "mottagningsbevis levererat",
    "underrattelse.queued": "underrättelse köad", "underrattelse.sent": "underrättelse skickad",
    "mottagningsbevis.released": "mottagningsbevis: avbrutet försök, skickas igen",
    "mottagningsbevis.resend": "mottagningsbevis skickas igen",
    "mottagningsbevis.confirmed_sent": "mottagningsbevis: bekräftat att det kom fram",
    "mottagningsbevis.failed": "mottagningsbevis kunde inte skickas",
}


def timeline(session: Session, case_id: int) -> list[EventView]:
    events = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id))
    out = []
    for e in events:
        what = EVENT_WORDS.get(e.kind, e.kind)
        note = e.detail.get("note") or e.detail.get("reason")
        if e.kind == "case.corrected":
            changes = e.detail.get("changes", {})
            changed = ", ".join(f"{k}: {old} → {new}" for k, (old, new) in changes.items())
            what = f"{what} ({changed})"
        elif isinstance(note, str) and note:
            what = f"{what}: {note}"
        out.append(EventView(local(e.at), what, e.actor.removeprefix("user:")))
    return out


def deadlines(case: Case, today: date) -> list[DeadlineView]:
    return [DeadlineView(d.due, d.description, d.met_at,
                         d.met_at is None and d.due < today, d.kind) for d in case.deadlines]


def deidentified(session: Session, case_id: int) -> bool:
    """Was the case's text de-identified at registration (its routine says so)?"""
    return session.scalar(select(Event.id).where(
        Event.case_id == case_id, Event.kind == "case.deidentified").limit(1)) is not None


def open_stages(case: Case) -> list[tuple[str, str]]:
    """(kind, description) of each återkoppling stage still open, earliest first."""
    return [(d.kind, d.description) for d in lifecycle.open_stages(case)]


def shown_text(text: str, may_see_personnummer: bool) -> str:
    """The message text; personnummer masked unless the reader handles the case."""
    if may_see_personnummer:
        return text
    return mask(text, identity_numbers(find(text)))

