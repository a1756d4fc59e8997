"""The way of one SMS, from its stored row: screened, threaded into the case
it answers, or joined with the sender's other texts into one message and
registered once that number has been quiet for a while."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from cases.models import Case, Inbound, InboundStatus
from cases.register import find_case
from cases.sms import lock_sender, lock_waiting_texts, recent_case_of
from ingest.message import Quarantine
from ingest.sms.join import Part, chain_of, message_of, quiet_at
from ingest.sms.phone import e164, is_short_code
from ingest.sms.record import SmsRecord, from_raw
from ingest.thread import ThreadRefs, diarienummer_in
from workers.app import App
from workers.intake import Outcome, finish, register_message, thread_reply


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
        return thread_reply(session, [row], case, sender_matches=_same_phone(case, phone))

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
