"""The transactional outbox: rows written with the change that caused them,
delivered afterwards with retries, never twice for one logical message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.models import Outbox, OutboxStatus
from config.errors import OutcomeUnknownError, PermanentError, TransientError
from ingest.sms.gateway import DeliveryReport
from notify.delivery import Transports
from notify.mail import OutgoingMail
from notify.sms import OutgoingSms

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    retry_base: timedelta = timedelta(seconds=30)  # first retry; doubles, capped at 1 h
    lease: timedelta = timedelta(minutes=5)  # longer than any transport's own timeout
    max_attempts: int = 8

    def backoff(self, attempts: int) -> timedelta:
        seconds = self.retry_base.total_seconds() * 2 ** max(0, attempts - 1)
        return timedelta(seconds=min(3600.0, seconds))


DEFAULT_POLICY = DeliveryPolicy()


@dataclass(frozen=True, slots=True)
class AutoReplyLimit:
    count: int  # at most this many automatic messages ...
    window: timedelta  # ... per recipient in this window


def recent_automatic(session: Session, recipient: str, since: datetime) -> int:
    return session.scalar(
        select(func.count(Outbox.id)).where(
            Outbox.recipient == recipient, Outbox.automatic.is_(True), Outbox.created_at >= since
        )
    ) or 0


def queue_mail(
    session: Session,
    mail: OutgoingMail,
    *,
    kind: str,
    dedupe_key: str,
    case_id: int | None,
    limit: AutoReplyLimit,
    now: datetime,
) -> Outbox | None:
    """Add ``mail`` to the outbox in the caller's transaction.

    Returns None, and records why, when the row already exists (the same
    logical message) or the recipient has had ``limit.count`` automatic mails
    within the window (loops, out-of-office ping-pong, floods).
    """
    return _queue(session, Outbox(
        dedupe_key=dedupe_key, kind=kind, channel="email", automatic=mail.automatic,
        case_id=case_id, recipient=mail.recipient, subject=mail.subject,
        message_id=mail.message_id, body=mail.to_bytes(), created_at=now, next_attempt_at=now,
    ), limit, now)


def queue_sms(
    session: Session,
    sms: OutgoingSms,
    *,
    kind: str,
    dedupe_key: str,
    case_id: int | None,
    limit: AutoReplyLimit,
    now: datetime,
) -> Outbox | None:
    """Add an SMS to the outbox: the same rules as mail, the limit counted per number."""
    return _queue(session, Outbox(
        dedupe_key=dedupe_key, kind=kind, channel="sms", automatic=sms.automatic,
        case_id=case_id, recipient=sms.recipient, subject=f"sms ({sms.segments} del)",
        message_id=None, body=sms.text.encode("utf-8"), created_at=now, next_attempt_at=now,
    ), limit, now)


def _queue(session: Session, row: Outbox, limit: AutoReplyLimit, now: datetime) -> Outbox | None:
    if session.scalar(select(Outbox.id).where(Outbox.dedupe_key == row.dedupe_key)) is not None:
        return None
    if row.automatic:
        sent = recent_automatic(session, row.recipient, now - limit.window)
        if sent >= limit.count:
            audit.record(session, "system:notify", f"{row.kind}.suppressed", case_id=row.case_id,
                         reason="rate-limit", limit=limit.count,
                         window_hours=limit.window.total_seconds() / 3600)
            return None
    session.add(row)
    session.flush()
    audit.record(session, "system:notify", f"{row.kind}.queued", case_id=row.case_id,
                 outbox_id=row.id, channel=row.channel)
    return row


def due_ids(sessions: sessionmaker[Session], now: datetime) -> list[int]:
    """Rows to attempt now: pending and due, or claimed by an attempt whose
    lease ran out (its worker died) so that deliver() can settle them."""
    with sessions() as session:
        return list(session.scalars(
            select(Outbox.id)
            .where(or_(
                and_(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now),
                and_(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_until < now),
            ))
            .order_by(Outbox.id)
        ))


def deliver(sessions: sessionmaker[Session], transports: Transports, outbox_id: int,
            now: datetime, policy: DeliveryPolicy = DEFAULT_POLICY) -> str:
    """Deliver one outbox row at most once; returns its status afterwards.

    The attempt is recorded (status ``sending``, a lease in ``claimed_until``)
    and committed before the transport is called. Finding a row still
    ``sending`` after its lease means a worker died between the transport's
    answer and the update: over a transport that is not idempotent (SMTP) the
    row becomes ``uncertain`` for a person instead of being sent again.
    """
    with sessions.begin() as session:
        row = session.get(Outbox, outbox_id, with_for_update=True)
        if row is None:
            return "missing"
        try:
            transport = transports.for_channel(row.channel)
        except PermanentError as exc:
            row.status, row.last_error = OutboxStatus.FAILED, str(exc)
            audit.record(session, "system:notify", f"{row.kind}.failed", case_id=row.case_id,
                         outbox_id=row.id, error="no-transport")
            return row.status
        if row.status == OutboxStatus.SENDING:
            if row.claimed_until is not None and row.claimed_until >= now:
                return row.status  # another worker holds it right now
            if not transport.idempotent:
                row.status, row.claimed_until = OutboxStatus.UNCERTAIN, None
                row.next_attempt_at = now  # since when it is uncertain
                row.last_error = "avbrutet försök: oklart om meddelandet skickades"
                audit.record(session, "system:notify", f"{row.kind}.uncertain",
                             case_id=row.case_id, outbox_id=row.id, attempt=row.attempts)
                log.error("outbox attempt interrupted, not resending outbox_id=%s", row.id)
                return row.status
        elif row.status != OutboxStatus.PENDING or row.next_attempt_at > now:
            return row.status
        row.status, row.claimed_until = OutboxStatus.SENDING, now + policy.lease
        row.attempts += 1
        recipient, body, attempt = row.recipient, row.body, row.attempts
    error: Exception | None = None
    provider_id: str | None = None
    try:
        provider_id = transport.send(outbox_id, recipient, body)
    except (TransientError, PermanentError) as exc:
        error = exc
    with sessions.begin() as session:
        row = session.get_one(Outbox, outbox_id, with_for_update=True)
        row.claimed_until = None
        if error is None:
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
            row.provider_id = provider_id
            audit.record(session, "system:notify", f"{row.kind}.sent", case_id=row.case_id,
                         outbox_id=row.id, attempt=attempt, channel=row.channel)
        elif isinstance(error, OutcomeUnknownError):  # may have gone out: never resent blindly
            row.status, row.last_error = OutboxStatus.UNCERTAIN, str(error)[:2000]
            row.next_attempt_at = now  # since when it is uncertain
            audit.record(session, "system:notify", f"{row.kind}.uncertain", case_id=row.case_id,
                         outbox_id=row.id, attempt=attempt, error=type(error).__name__)
            log.error("outbox outcome unknown, not resending outbox_id=%s", row.id)
        elif isinstance(error, PermanentError) or attempt >= policy.max_attempts:
            row.status, row.last_error = OutboxStatus.FAILED, str(error)[:2000]
            audit.record(session, "system:notify", f"{row.kind}.failed", case_id=row.case_id,
                         outbox_id=row.id, attempt=attempt, error=type(error).__name__)
            log.error("outbox delivery failed for good outbox_id=%s attempts=%s", row.id, attempt)
        else:
            row.status, row.last_error = OutboxStatus.PENDING, str(error)[:2000]
            row.next_attempt_at = now + policy.backoff(attempt)
            log.warning("outbox delivery will be retried outbox_id=%s attempt=%s", row.id, attempt)
        return row.status


def resend(session: Session, outbox_id: int, actor: str, now: datetime) -> Outbox:
    """A person decided that a failed or uncertain message should go again."""
    row = session.get(Outbox, outbox_id, with_for_update=True)
    if row is None:
        raise LookupError(f"utskick {outbox_id} finns inte")
    if row.status not in (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN):
        raise ValueError(f"utskick {outbox_id} är {row.status}; bara misslyckade eller osäkra "
                         "utskick kan skickas igen")
    if not row.body:  # gallring emptied it: there is nothing left to send
        raise ValueError(f"utskick {outbox_id} är gallrat och kan inte skickas igen")
    previous = row.status
    row.status, row.next_attempt_at, row.claimed_until = OutboxStatus.PENDING, now, None
    audit.record(session, actor, f"{row.kind}.resend", case_id=row.case_id, outbox_id=row.id,
                 previous=previous)
    return row


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
        except (TransientError, PermanentError) as exc:
            log.warning("uncertain sms not checked outbox_id=%s error=%s", outbox_id,
                        type(exc).__name__)
            continue
        with sessions.begin() as session:
            row = session.get_one(Outbox, outbox_id, with_for_update=True)
            if row.status != OutboxStatus.UNCERTAIN:
                continue
            if found is not None:
                row.status, row.provider_id, row.last_error = OutboxStatus.SENT, found, None
                row.sent_at = row.sent_at or now
            elif now - row.next_attempt_at >= grace:
                row.status, row.next_attempt_at = OutboxStatus.PENDING, now
            else:
                continue
            settled[row.status] += 1
            audit.record(session, "system:notify", f"{row.kind}.reconciled", case_id=row.case_id,
                         outbox_id=row.id, result=row.status)
    return settled
