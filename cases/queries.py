"""Read models of the case register for the command line and the web pages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cases.models import Case, Deadline, Event, Inbound, Outbox


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: int
    diarienummer: str
    channel: str
    sender: str | None
    subject: str
    category: str | None
    enhet: str
    extern: str | None
    flags: list[str]
    status: str
    needs_review: bool
    received_at: datetime
    rule: str | None
    confidence: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class InboundSummary:
    id: int
    source: str
    source_key: str
    status: str
    reason: str | None
    case_id: int | None
    message_id: str | None
    sha256: str
    size: int
    received_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _summary(case: Case) -> CaseSummary:
    contact = case.contact
    sender = (contact.email or contact.phone) if contact else None
    return CaseSummary(
        id=case.id, diarienummer=case.diarienummer, channel=case.channel, sender=sender,
        subject=case.subject, category=case.category, enhet=case.enhet, extern=case.extern,
        flags=list(case.flags), status=case.status, needs_review=case.needs_review,
        received_at=case.received_at, rule=case.rule, confidence=case.confidence,
    )


def list_cases(session: Session) -> list[CaseSummary]:
    stmt = select(Case).options(selectinload(Case.contact)).order_by(Case.id)
    return [_summary(c) for c in session.scalars(stmt)]


def show_case(session: Session, case_id: int) -> dict[str, Any] | None:
    """Everything about one case, JSON-ready: summary, text, contact, deadlines,
    outbox and the audit trail."""
    case = session.get(Case, case_id)
    if case is None:
        return None
    out = _summary(case).as_dict()
    out.update(
        text=case.text, aspects=list(case.aspects), explanation=case.explanation,
        rules_version=case.rules_version, routine=case.routine,
        model_version=case.model_version, restricted=case.restricted, priority=case.priority,
        registered_at=case.registered_at, message_id=case.message_id,
        contact=None if case.contact is None else {
            "name": case.contact.name, "email": case.contact.email, "phone": case.contact.phone,
        },
        deadlines=[_deadline(d) for d in case.deadlines],
        outbox=[_outbox(o) for o in session.scalars(
            select(Outbox).where(Outbox.case_id == case.id).order_by(Outbox.id))],
        inbound=[i.id for i in session.scalars(
            select(Inbound).where(Inbound.case_id == case.id).order_by(Inbound.id))],
        events=[_event(e) for e in session.scalars(
            select(Event).where(Event.case_id == case.id).order_by(Event.id))],
    )
    return out


def _deadline(d: Deadline) -> dict[str, Any]:
    return {"kind": d.kind, "due": d.due, "description": d.description, "met_at": d.met_at}


def _outbox(o: Outbox) -> dict[str, Any]:
    return {"id": o.id, "kind": o.kind, "recipient": o.recipient, "subject": o.subject,
            "status": o.status, "attempts": o.attempts, "last_error": o.last_error,
            "message_id": o.message_id, "created_at": o.created_at, "sent_at": o.sent_at}


def _event(e: Event) -> dict[str, Any]:
    return {"id": e.id, "at": e.at, "actor": e.actor, "kind": e.kind, "detail": e.detail,
            "inbound_id": e.inbound_id, "outbox_id": e.outbox_id}


def list_inbound(session: Session, status: str | None = None) -> list[InboundSummary]:
    stmt = select(
        Inbound.id, Inbound.source, Inbound.source_key, Inbound.status, Inbound.reason,
        Inbound.case_id, Inbound.message_id, Inbound.sha256, func.length(Inbound.raw),
        Inbound.received_at,
    ).order_by(Inbound.id)
    if status:
        stmt = stmt.where(Inbound.status == status)
    return [InboundSummary(*row) for row in session.execute(stmt)]


__all__ = ["CaseSummary", "InboundSummary", "OutboxSummary", "list_cases", "list_inbound",
           "list_outbox", "show_case"]


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    id: int
    kind: str
    case_id: int | None
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_outbox(session: Session, status: str | None = None) -> list[OutboxSummary]:
    stmt = select(
        Outbox.id, Outbox.kind, Outbox.case_id, Outbox.recipient, Outbox.subject, Outbox.status,
        Outbox.attempts, Outbox.last_error, Outbox.created_at, Outbox.sent_at,
    ).order_by(Outbox.id)
    if status:
        stmt = stmt.where(Outbox.status == status)
    return [OutboxSummary(**row._asdict()) for row in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class RoutedCase:
    """A registered case as `synpunkt rules test --cases` replays it."""

    diarienummer: str
    channel: str
    sender: str | None
    subject: str
    text: str
    enhet: str  # where it is now: routed, or moved by the registrator
    extern: str | None


def routed_cases(session: Session, limit: int) -> list[RoutedCase]:
    """The newest ``limit`` cases, oldest first."""
    stmt = (select(Case).options(selectinload(Case.contact)).order_by(Case.id.desc())
            .limit(limit))
    out = []
    for case in session.scalars(stmt):
        contact = case.contact
        sender = (contact.email or contact.phone) if contact else None
        out.append(RoutedCase(case.diarienummer, case.channel, sender, case.subject, case.text,
                              case.enhet, case.extern))
    return out[::-1]



def labelled_corrections(session: Session) -> list[dict[str, Any]]:
    """Every case a registrator confirmed or corrected in the web application,
    as a labelled example in labels.md's JSONL form (the latest verdict per
    case; no sender address): `synpunkt train` learns from them."""
    events = session.scalars(select(Event).where(
        Event.kind.in_(("case.corrected", "case.confirmed"))).order_by(Event.id))
    latest: dict[int, dict[str, Any]] = {}
    for event in events:
        labels = event.detail.get("labels")
        if event.case_id is not None and isinstance(labels, dict):
            latest[event.case_id] = labels
    out = []
    for case_id, labels in sorted(latest.items()):
        case = session.get(Case, case_id)
        if case is None:
            continue
        flags = sorted(set(labels.get("flags", [])) - {"extern"})
        extern = case.extern if labels.get("enhet") == "registrator" else None
        out.append({
            "id": f"rattelse:{case.diarienummer}", "channel": case.channel, "from": "",
            "subject": case.subject, "text": case.text, "category": labels.get("category"),
            "enhet": labels.get("enhet"), "flags": sorted({*flags, *(["extern"] if extern
                                                                      else [])}),
            "extern": extern, "aspects": list(case.aspects),
        })
    return out
