"""The way of one message: stored raw input -> case, ignored or quarantined.

``process_inbound`` is what an actor (``ingest.process``) or the embedded
loop calls with an inbound id. The pure steps run between loading the row
and one commit that writes the case, its deadlines and its receipt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.db import transient_db_errors
from cases.models import Case, Inbound, InboundStatus
from cases.register import find_case, register_case
from config.errors import TransientError
from ingest.message import Channel, Message, Quarantine
from ingest.parse import parse
from ingest.screen import screen
from ingest.thread import thread_refs
from notify.calendar import STOCKHOLM
from notify.notices import CaseFacts, render_notices
from notify.outbox import queue_mail
from notify.receipt import render_receipt
from workers.app import App

log = logging.getLogger(__name__)
ACTOR = "system:ingest"


@dataclass(frozen=True, slots=True)
class Outcome:
    inbound_id: int
    status: str
    reason: str | None = None
    case_id: int | None = None
    diarienummer: str | None = None
    threaded: bool = False
    receipt_outbox_id: int | None = None
    notice_outbox_ids: tuple[int, ...] = ()  # notices to chefs and others told

    @property
    def outbox_ids(self) -> tuple[int, ...]:
        """Every mail this message queued, to be delivered once committed."""
        receipt = () if self.receipt_outbox_id is None else (self.receipt_outbox_id,)
        return receipt + self.notice_outbox_ids


def pending_inbound(app: App) -> list[int]:
    with app.sessions() as session:
        return list(session.scalars(
            select(Inbound.id).where(Inbound.status == InboundStatus.RECEIVED).order_by(Inbound.id)
        ))


def process_inbound(app: App, inbound_id: int) -> Outcome:
    """Process one stored message. Never raises for bad input: an unexpected
    error quarantines the message (the shunt) and the queue moves on. An
    unreachable database raises TransientError, to be retried."""
    try:
        with transient_db_errors(), app.sessions.begin() as session:
            return _process(app, session, inbound_id)
    except TransientError:
        raise  # the database is away: retry later, the row stays "received"
    except Exception as exc:
        log.exception("processing failed inbound_id=%s error=%s", inbound_id, type(exc).__name__)
        with app.sessions.begin() as session:
            row = session.get_one(Inbound, inbound_id)
            reason = f"internal-error: ett fel i Synpunkt ({type(exc).__name__}); försök igen"
            _finish(session, row, InboundStatus.QUARANTINED, reason)
            return Outcome(inbound_id, row.status, row.reason)


def _process(app: App, session: Session, inbound_id: int) -> Outcome:
    row = session.get(Inbound, inbound_id, with_for_update=True)
    if row is None:
        return Outcome(inbound_id, "missing")
    if row.status != InboundStatus.RECEIVED:
        return Outcome(inbound_id, row.status, row.reason, row.case_id)

    parsed = parse(row.raw, app.settings.limits, Channel(row.channel))
    if isinstance(parsed, Quarantine):
        _finish(session, row, InboundStatus.QUARANTINED, parsed.reason)
        return Outcome(inbound_id, row.status, row.reason)
    message: Message = parsed

    org = app.kommun.organisation
    screened = screen(message, org.kommun.doman, app.own_addresses)
    if screened is not None:
        _finish(session, row, InboundStatus.IGNORED, screened.reason)
        return Outcome(inbound_id, row.status, row.reason)

    refs = thread_refs(message, org.kommun.prefix)
    existing = find_case(session, refs) if refs else None
    if existing is not None:
        audit.record(session, ACTOR, "case.reply_received", case_id=existing.id,
                     inbound_id=row.id, sender_matches=_same_sender(existing, message))
        row.case_id = existing.id
        _finish(session, row, InboundStatus.PROCESSED, None)
        return Outcome(inbound_id, row.status, None, existing.id, existing.diarienummer, True)

    now = app.clock()
    triage = app.classifier.classify(message)
    decision = app.router.route(message, triage)
    registered = register_case(session, app.kommun, message, triage, decision,
                               inbound_id=row.id, received_at=row.received_at, now=now)
    case = registered.case
    outbox_id = None
    if message.sender is not None and message.channel == Channel.EMAIL:
        extern_id = case.extern
        receipt = render_receipt(app.kommun, message, case.diarienummer, registered.deadlines,
                                 now, org.extern(extern_id) if extern_id else None, case.flags)
        queued = queue_mail(session, receipt, kind="mottagningsbevis",
                            dedupe_key=f"mottagningsbevis:case:{case.id}", case_id=case.id,
                            limit=app.auto_reply_limit, now=now)
        outbox_id = queued.id if queued else None
    facts = CaseFacts(case.diarienummer, case.category, frozenset(case.flags), message.subject,
                      message.text, received_at_local(row.received_at), registered.deadlines)
    notices = []
    for notice in render_notices(app.kommun, facts, decision, now):
        queued_notice = queue_mail(session, notice, kind="underrattelse",
                                   dedupe_key=f"underrattelse:case:{case.id}:{notice.recipient}",
                                   case_id=case.id, limit=app.auto_reply_limit, now=now)
        if queued_notice is not None:
            notices.append(queued_notice.id)
    row.case_id = case.id
    _finish(session, row, InboundStatus.PROCESSED, None)
    log.info("case registered inbound_id=%s case_id=%s", row.id, case.id)
    return Outcome(inbound_id, row.status, None, case.id, case.diarienummer, False, outbox_id,
                   tuple(notices))


def received_at_local(received: datetime) -> datetime:
    aware = received if received.tzinfo else received.replace(tzinfo=UTC)
    return aware.astimezone(STOCKHOLM)


def _finish(session: Session, row: Inbound, status: InboundStatus, reason: str | None) -> None:
    row.status, row.reason, row.processed_at = status, reason, audit.utcnow()
    audit.record(session, ACTOR, f"inbound.{status}", inbound_id=row.id, case_id=row.case_id,
                 reason=(reason or "").split(":")[0] or None)
    if status != InboundStatus.PROCESSED:
        log.info("inbound %s inbound_id=%s reason=%s", status, row.id, (reason or "").split(":")[0])


def _same_sender(case: Case, message: Message) -> bool:
    contact = case.contact
    return bool(contact and message.sender and contact.email == message.sender)
