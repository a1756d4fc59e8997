"""The transactional outbox: rows written with the change that caused them,
delivered afterwards with retries (``notify.attempt``, which owns every change
of a row's status), never twice for one logical message."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from cases import audit, heartbeats
from cases.db import insert_or_nothing
from cases.models import Outbox, OutboxStatus
from config.errors import OutcomeUnknownError, PermanentError, TransientError
from ingest.sms.gateway import DeliveryReport
from notify import attempt
from notify.mail import OutgoingMail
from notify.sms import OutgoingSms

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class AutoReplyLimit:
    count: int  # at most this many automatic messages ...
    window: timedelta  # ... per recipient in this window


def recent_automatic(session: Session, recipient: str, since: datetime) -> int:
    """Automatic mail ``recipient`` has had since ``since``."""
    return recent_automatic_to(session, {recipient}, since).get(recipient, 0)


def recent_automatic_to(session: Session, recipients: set[str],
                        since: datetime) -> dict[str, int]:
    """``recent_automatic`` for many recipients in one statement (a batch)."""
    if not recipients:
        return {}
    counted = session.connection().execute(
        select(Outbox.recipient, func.count(Outbox.id)).where(
            Outbox.recipient.in_(sorted(recipients)), Outbox.automatic.is_(True),
            Outbox.created_at >= since).group_by(Outbox.recipient))
    return {recipient: count for recipient, count in counted}


def queue_mail(
    session: Session,
    mail: OutgoingMail,
    *,
    kind: str,
    dedupe_key: str,
    case_id: int | None,
    limit: AutoReplyLimit,
    now: datetime,
    sent_recently: int | None = None,
) -> int | None:
    """Add ``mail`` to the outbox in the caller's transaction; returns its id.

    Returns None, and records why, when the row already exists (the same
    logical message) or the recipient has had ``limit.count`` automatic mails
    within the window (loops, out-of-office ping-pong, floods).
    ``sent_recently``: that count, when the caller took it already (before
    taking the diarienummer, say, so as not to count under its lock).
    """
    return _queue(session, dict(
        dedupe_key=dedupe_key, kind=kind, channel="email", automatic=mail.automatic,
        case_id=case_id, recipient=mail.recipient, subject=mail.subject,
        message_id=mail.message_id, body=mail.to_bytes(), created_at=now, next_attempt_at=now,
    ), limit, now, sent_recently)


def queue_sms(
    session: Session,
    sms: OutgoingSms,
    *,
    kind: str,
    dedupe_key: str,
    case_id: int | None,
    limit: AutoReplyLimit,
    now: datetime,
    sent_recently: int | None = None,
) -> int | None:
    """Add an SMS to the outbox: the same rules as mail, the limit counted per number."""
    return _queue(session, dict(
        dedupe_key=dedupe_key, kind=kind, channel="sms", automatic=sms.automatic,
        case_id=case_id, recipient=sms.recipient, subject=f"sms ({sms.segments} del)",
        message_id=None, body=sms.text.encode("utf-8"), created_at=now, next_attempt_at=now,
    ), limit, now, sent_recently)


def _queue(session: Session, row: dict[str, Any], limit: AutoReplyLimit,
           now: datetime, sent_recently: int | None) -> int | None:
    # Outbox rows are written with one statement each, or a batch's in one
    # (OutboxBatch), with no ORM object and no flush: the unique dedupe key
    # decides, in the database, that a logical message exists once.
    batch: OutboxBatch | None = session.info.get(_BATCH)  # set by OutboxBatch.open
    if row["automatic"]:
        with session.no_autoflush:  # the count concerns outbox rows, written at once
            sent = (sent_recently if sent_recently is not None
                    else recent_automatic(session, row["recipient"], now - limit.window))
            exists = sent >= limit.count and (
                (batch is not None and batch.holds(row["dedupe_key"]))
                or session.scalar(select(Outbox.id).where(
                    Outbox.dedupe_key == row["dedupe_key"])) is not None)
        if exists:
            return None
        if sent >= limit.count:
            audit.record(session, "system:notify", f"{row['kind']}.suppressed",
                         case_id=row["case_id"], reason="rate-limit", limit=limit.count,
                         window_hours=limit.window.total_seconds() / 3600)
            return None
    if batch is not None:
        return batch.add(session, row)
    # On the transaction's connection, not through the ORM: no flush (pending
    # events and the like go in one batch at commit), no identity bookkeeping.
    outbox_id = session.connection().execute(
        insert_or_nothing(session, Outbox, "dedupe_key", "id"),
        {**row, "attempts": 0},  # status: pending, the column's default (notify.attempt owns it)
    ).scalar_one_or_none()
    if outbox_id is not None:
        _queued(session, row, outbox_id)
    return outbox_id


def _queued(session: Session, row: dict[str, Any], outbox_id: int) -> None:
    audit.record(session, "system:notify", f"{row['kind']}.queued", case_id=row["case_id"],
                 outbox_id=outbox_id, channel=row["channel"])


_BATCH = "synpunkt.outbox_batch"
# A block of ids from the outbox's own sequence (PostgreSQL), in one statement.
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('outbox', 'id'))"
                 " FROM generate_series(1, :n)")


class OutboxConflictError(PermanentError):
    """A row of an ``OutboxBatch`` met a logical message that exists already:
    not for the batch to write (it is taken one by one)."""


class OutboxBatch:
    """The outbox rows that a batch registered in one transaction queues
    (``service.batch``), written in one statement rather than one each, on
    PostgreSQL. Each row's id is taken from the outbox's sequence when it is
    queued (a block at a time), so the caller has it at once, as always; the
    rows are written before the session's next flush, and the events
    recorded meanwhile (``audit.buffered``) after them, in one statement
    too: some of them name the rows. A logical message the batch holds
    already (its dedupe key) is not queued again, as the database would
    answer; a row whose logical message the database holds already is not
    written: the flush then raises OutboxConflictError, the batch rolls back
    and is taken one by one, where each row meets the dedupe key alone.
    While a batch is open (``open``), ``queue_mail`` and ``queue_sms`` add
    to it; what is left is written when it closes."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._keys: set[str] = set()
        self._ids: list[int] = []

    @contextmanager
    def open(self, session: Session) -> Iterator[OutboxBatch]:
        """Queue into this batch while open; on SQLite (no sequence to take
        ids from) each row is written as it is queued, as without a batch."""
        if session.get_bind().dialect.name != "postgresql":
            yield self
            return
        session.info[_BATCH] = self
        event.listen(session, "before_flush", self._before_flush)
        try:
            with audit.buffered(session):
                yield self
                self.write(session)  # what is left, before the session commits
        finally:
            event.remove(session, "before_flush", self._before_flush)
            session.info.pop(_BATCH, None)

    def holds(self, dedupe_key: str) -> bool:
        return dedupe_key in self._keys

    def add(self, session: Session, row: dict[str, Any]) -> int | None:
        """The row's id; None when the batch holds its logical message
        already (as the database's dedupe key answers a second INSERT)."""
        if self.holds(row["dedupe_key"]):
            return None
        if not self._ids:
            self._ids = list(session.connection().scalars(_NEXT_IDS, {"n": 16}))
        outbox_id = self._ids.pop(0)
        self.rows.append({**row, "id": outbox_id, "attempts": 0})
        self._keys.add(row["dedupe_key"])
        _queued(session, row, outbox_id)
        return outbox_id

    def write(self, session: Session) -> None:
        """The rows queued so far, then the events recorded so far."""
        if self.rows:
            rows, self.rows = self.rows, []
            written = set(session.connection().scalars(
                insert_or_nothing(session, Outbox, "dedupe_key", "id"), rows))
            if written != {r["id"] for r in rows}:
                raise OutboxConflictError(", ".join(r["dedupe_key"] for r in rows
                                                    if r["id"] not in written))
        audit.write_buffered(session)

    def _before_flush(self, session: Session, *_: object) -> None:
        self.write(session)


def due_ids(sessions: sessionmaker[Session], now: datetime,
            silent_after: timedelta | None = None,
            grace: timedelta = timedelta(0)) -> list[int]:
    """Rows to attempt now: pending and due (``grace`` ago), or claimed by
    an attempt that is over: its lease ran out, or (with ``silent_after``)
    its process has stopped or gone silent, so that deliver() can settle it."""
    over = Outbox.claimed_until < now
    if silent_after is not None:
        over = or_(over, and_(Outbox.claimed_by.is_not(None),
                              ~heartbeats.process_alive(Outbox.claimed_by, now, silent_after)))
    with sessions() as session:
        return list(session.scalars(
            select(Outbox.id)
            .where(or_(
                and_(Outbox.status == OutboxStatus.PENDING,
                     Outbox.next_attempt_at <= now - grace),
                and_(Outbox.status == OutboxStatus.SENDING, over),
            ))
            .order_by(Outbox.id)
        ))


def record_delivery(session: Session, report: DeliveryReport, now: datetime) -> Outbox | None:
    """What the gateway said became of an SMS we sent; None for an id we do
    not know (another system on the same account)."""
    row = session.scalar(select(Outbox).where(Outbox.provider_id == report.gateway_id)
                         .with_for_update())
    if row is None:
        log.info("delivery report for an unknown message")
        return None
    if row.delivery_status in ("delivered", "failed") and report.status == "sent":
        return row  # reports can arrive out of order: never step back
    row.delivery_status = report.status
    if report.status == "delivered":
        row.delivered_at = report.at or now
    audit.record(session, "system:notify", f"{row.kind}.{report.status}", case_id=row.case_id,
                 outbox_id=row.id, channel=row.channel,
                 error_code=report.detail.get("error_code"))
    if report.status == "failed":
        log.warning("sms not delivered outbox_id=%s", row.id)
    return row


FindSent = Callable[[str, str, datetime], "str | None"]


def reconcile_uncertain(sessions: sessionmaker[Session], find_sent: FindSent, now: datetime,
                        grace: timedelta = timedelta(minutes=5)) -> dict[str, int]:
    """Settle uncertain SMS by asking the gateway's history: an SMS it has
    is ``sent``; one it still lacks ``grace`` after the attempt never left
    and goes back to ``pending``. E-mail cannot be asked, and stays for a person."""
    with sessions() as session:
        ids = list(session.scalars(select(Outbox.id).where(
            Outbox.channel == "sms", Outbox.status == OutboxStatus.UNCERTAIN)))
    settled = {"sent": 0, "pending": 0}
    for outbox_id in ids:
        with sessions() as session:
            row = session.get_one(Outbox, outbox_id)
            recipient, text, since = row.recipient, row.body.decode("utf-8"), row.created_at
        try:
            found = find_sent(recipient, text, since)
        except (TransientError, PermanentError, OutcomeUnknownError) as exc:
            log.warning("uncertain sms not checked outbox_id=%s error=%s", outbox_id,
                        type(exc).__name__)
            continue
        with sessions.begin() as session:
            row = session.get_one(Outbox, outbox_id, with_for_update=True)
            if row.status != OutboxStatus.UNCERTAIN:
                continue
            result = attempt.reconciled(session, row, found, now, grace)
            if result is not None:
                settled[result] += 1
    return settled
