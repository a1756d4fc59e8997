"""The case register's side of SMS: storing what a gateway delivered (webhook
or poll, upserted on gateway and message id), poll cursors, and finding the
texts a message is joined from or the case a reply belongs to."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.inbound import Stored, store_raw
from cases.models import Case, CaseStatus, Contact, Inbound, InboundStatus, SourceCursor, utcnow
from ingest.message import Channel
from ingest.sms.phone import e164
from ingest.sms.record import SmsRecord


def store_sms(session: Session, record: SmsRecord, received_at: datetime) -> Stored:
    """Store one SMS unless this gateway's id is already stored. A webhook and
    a poll racing for the same SMS both succeed; one row results."""
    try:
        with session.begin_nested():
            return store_raw(session, record.source, record.id, record.to_raw(),
                             channel=Channel.SMS, received_at=received_at,
                             sender=e164(record.sender) or record.sender.strip()[:320],
                             sent_at=record.created)
    except IntegrityError:  # the other path committed it first
        existing = session.scalar(select(Inbound.id).where(
            Inbound.source == record.source, Inbound.source_key == record.id))
        if existing is None:
            raise
        return Stored(existing, created=False)


def load_cursor(session: Session, source: str) -> str | None:
    row = session.get(SourceCursor, source)
    return None if row is None else row.value


def save_cursor(session: Session, source: str, value: str) -> None:
    row = session.get(SourceCursor, source, with_for_update=True)
    if row is None:
        session.add(SourceCursor(source=source, value=value))
    else:  # the gateway's fetch never moves it backwards
        row.value, row.updated_at = value, utcnow()


def lock_sender(session: Session, sender: str) -> None:
    """Serialise the processing of one number's texts across workers until
    the transaction ends: a text that arrives while its sender's earlier one
    is being registered then finds that case instead of making a second one.
    (SQLite, the embedded mode, has a single writer anyway.)"""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"sms:{sender}".encode()).digest()[:8], "big",
                         signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def lock_waiting_texts(session: Session, source: str, sender: str) -> list[Inbound]:
    """Every stored, unprocessed SMS from ``sender``, locked in id order (so two
    workers taking parts of one message queue behind each other, never deadlock)."""
    return list(session.scalars(
        select(Inbound)
        .where(Inbound.source == source, Inbound.sender == sender,
               Inbound.status == InboundStatus.RECEIVED)
        .order_by(Inbound.id)
        .with_for_update()
    ))


def recent_case_of(session: Session, phone: str, since: datetime) -> Case | None:
    """The newest case, not closed, registered from an SMS by ``phone`` since ``since``."""
    return session.scalar(
        select(Case)
        .join(Contact, Contact.case_id == Case.id)
        .where(Contact.phone == phone, Case.channel == Channel.SMS,
               Case.status != CaseStatus.CLOSED, Case.registered_at >= since)
        .order_by(Case.registered_at.desc(), Case.id.desc())
        .limit(1)
    )
