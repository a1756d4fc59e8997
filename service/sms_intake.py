"""The way of one SMS, from its stored row: screened, threaded into the case
it answers, or joined with the sender's other texts into one message and
registered once that number has been quiet for a while.

SMS come in two ways: the webhook's fast path (``receive``) and the poll that
reconciles (``poll``). Both store through ``cases.sms.store_sms`` (upserted on
gateway and message id) and enqueue processing only after their commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from cases.inbound import finish
from cases.models import Case, Inbound, InboundStatus
from cases.register import find_case
from cases.sms import (
    load_cursor,
    lock_sender,
    lock_waiting_texts,
    recent_case_of,
    save_cursor,
    store_sms,
)
from ingest.message import Quarantine
from ingest.sms.gateway import Gateway
from ingest.sms.join import Part, chain_of, message_of, quiet_at
from ingest.sms.phone import e164, is_short_code
from ingest.sms.record import SmsRecord, from_raw
from ingest.thread import ThreadRefs, diarienummer_in
from service.app import App
from service.intake import Outcome, register_message, thread_reply

log = logging.getLogger(__name__)
Enqueue = Callable[[int], None]


def receive(app: App, record: SmsRecord, enqueue: Enqueue) -> int:
    """Store one SMS from a webhook (committed before this returns, so the
    gateway is answered 2xx only for what is safe) and enqueue it if new."""
    with app.sessions.begin() as session:
        stored = store_sms(session, record, app.clock())
    if stored.created:
        _enqueue(enqueue, stored.inbound_id)
        log.info("sms stored by webhook inbound_id=%s", stored.inbound_id)
    return stored.inbound_id


def poll(app: App, gateway: Gateway, enqueue: Enqueue) -> list[int]:
    """One reconciliation against the gateway's history; returns new inbound ids."""
    source = f"sms:{gateway.name}"
    with app.sessions() as session:
        cursor = load_cursor(session, source)
    fetched = gateway.fetch_since(cursor, app.clock())
    created: list[int] = []
    with app.sessions.begin() as session:
        for record in fetched.records:
            stored = store_sms(session, record, app.clock())
            if stored.created:
                created.append(stored.inbound_id)
        if fetched.cursor:
            save_cursor(session, source, fetched.cursor)
    for inbound_id in created:
        _enqueue(enqueue, inbound_id)
    if created:
        log.info("sms poll stored count=%s seen=%s pages=%s", len(created),
                 len(fetched.records), fetched.pages)
    return created


def _enqueue(enqueue: Enqueue, inbound_id: int) -> None:
    try:
        enqueue(inbound_id)
    except Exception as exc:  # the scheduler's sweep picks the row up later
        log.warning("sms enqueue failed inbound_id=%s error=%s", inbound_id, type(exc).__name__)



def process_sms(app: App, session: Session, inbound_id: int, source: str,
                sender: str | None) -> Outcome:
    if sender is not None:  # one number's texts are taken up one at a time
        lock_sender(session, sender)
        lock_waiting_texts(session, source, sender)
    row = session.get_one(Inbound, inbound_id, with_for_update=sender is None)
    if row.status != InboundStatus.RECEIVED:
        return Outcome(inbound_id, row.status, row.reason, row.case_id)

    record = from_raw(row.raw)
    if isinstance(record, Quarantine):
        finish(session, row, InboundStatus.QUARANTINED, record.reason)
        return Outcome(inbound_id, row.status, row.reason)
    screened = _screen(record, app.sms_number)
    if screened is not None:
        finish(session, row, InboundStatus.IGNORED, screened)
        return Outcome(inbound_id, row.status, row.reason)
    phone = str(e164(record.sender))

    case = _answered_case(app, session, record, phone)
    if case is not None:
        return thread_reply(app, session, [row], case, record.text,
                            sender_matches=_same_phone(case, phone))

    waiting = [r for r in lock_waiting_texts(session, source, phone) if r.id != row.id]
    parts = {row.id: (row, record)}
    for other in waiting:
        other_record = from_raw(other.raw)
        if isinstance(other_record, SmsRecord):
            parts[other.id] = (other, other_record)
    chain = chain_of([Part(r.id, rec.created, r.received_at, rec.text)
                      for r, rec in parts.values()],
                     row.id, gap=timedelta(seconds=app.settings.sms_join_seconds))
    ready_at = quiet_at(chain, timedelta(seconds=app.settings.sms_join_seconds))
    if ready_at > app.clock():  # the sender may still be typing the rest
        return Outcome(inbound_id, row.status, None, waiting_until=ready_at)
    rows = [parts[p.inbound_id][0] for p in chain]
    return register_message(app, session, rows, message_of(chain, phone))


def _screen(record: SmsRecord, own_number: str | None) -> str | None:
    """Why this SMS is automatic, or None for a text from a person."""
    if is_short_code(record.sender):
        return "sms-short-code: automatiskt sms från ett kortnummer"
    if e164(record.sender) is None:
        return f"sms-sender: automatiskt sms från avsändarnamnet {record.sender[:20]!r}"
    if own_number is not None and e164(record.sender) == own_number:
        return "own-number: sms från kommunens eget nummer"
    return None


def _answered_case(app: App, session: Session, record: SmsRecord, phone: str) -> Case | None:
    """The case this SMS adds to: one whose diarienummer it names, else the
    sender's own recent SMS case (what the SMS mottagningsbevis promises)."""
    numbers = diarienummer_in(record.text, app.kommun.organisation.kommun.prefix)
    if numbers:
        named = find_case(session, ThreadRefs(numbers, ()))
        if named is not None:
            return named
    since = app.clock() - timedelta(hours=app.settings.sms_reply_hours)
    return recent_case_of(session, phone, since)


def _same_phone(case: Case, phone: str) -> bool:
    return bool(case.contact and case.contact.phone == phone)
