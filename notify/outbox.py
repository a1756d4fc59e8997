"""The transactional outbox: rows written with the change that caused them,
delivered afterwards with retries, never twice for one logical message."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.db import upsert_insert
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
    return session.connection().scalar(
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
    # Outbox rows are written with one statement each (no ORM object, no
    # flush): the unique dedupe key decides, in the database, that a logical
    # message exists once.
    if row["automatic"]:
        with session.no_autoflush:  # the count concerns outbox rows, written at once
            sent = (sent_recently if sent_recently is not None
                    else recent_automatic(session, row["recipient"], now - limit.window))
            exists = sent >= limit.count and session.scalar(
                select(Outbox.id).where(Outbox.dedupe_key == row["dedupe_key"])) is not None
        if exists:
            return None
        if sent >= limit.count:
            audit.record(session, "system:notify", f"{row['kind']}.suppressed",
                         case_id=row["case_id"], reason="rate-limit", limit=limit.count,
                         window_hours=limit.window.total_seconds() / 3600)
            return None
    # On the transaction's connection, not through the ORM: no flush (pending
    # events and the like go in one batch at commit), no identity bookkeeping.
    outbox_id = session.connection().execute(
        upsert_insert(session, Outbox).values(**row, status=OutboxStatus.PENDING, attempts=0)
        .on_conflict_do_nothing(index_elements=[Outbox.dedupe_key]).returning(Outbox.id)
    ).scalar_one_or_none()
    if outbox_id is not None:
        audit.record(session, "system:notify", f"{row['kind']}.queued", case_id=row["case_id"],
                     outbox_id=outbox_id, channel=row["channel"])
    return outbox_id


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
    return deliver_many(sessions, transports, [outbox_id], now, policy)[outbox_id]


def deliver_many(sessions: sessionmaker[Session], transports: Transports,
                 outbox_ids: Sequence[int], now: datetime,
                 policy: DeliveryPolicy = DEFAULT_POLICY) -> dict[int, str]:
    """Deliver the rows one event queued together (a case's mottagningsbevis
    and its notices) with deliver()'s rule for each: claimed in one
    transaction, sent in order, settled in one transaction. The lease covers
    the whole batch; a worker that dies inside it leaves each row it had not
    settled ``uncertain``, never sent twice."""
    ids = list(dict.fromkeys(outbox_ids))
    lease = policy.lease * len(ids)  # each send may take up to a transport's timeout
    with sessions.begin() as session:
        claims = _claim(session, transports, ids, now, lease)
    answers: list[tuple[int, _Claim, Exception | None, str | None]] = []
    for outbox_id, claim in claims.items():
        if isinstance(claim, _Claim):
            error: Exception | None = None
            provider_id: str | None = None
            try:
                transport = transports.for_channel(claim.channel)
                provider_id = transport.send(outbox_id, claim.recipient, claim.body)
            except (TransientError, PermanentError) as exc:
                error = exc
            answers.append((outbox_id, claim, error, provider_id))
    statuses = {i: c for i, c in claims.items() if isinstance(c, str)}
    if answers:
        with sessions.begin() as session:  # the rows are ours: one UPDATE settles each
            for outbox_id, claim, error, provider_id in answers:
                statuses[outbox_id] = _settle(session, outbox_id, claim, error, provider_id,
                                              now, policy)
    return {i: statuses[i] for i in ids}


@dataclass(frozen=True, slots=True)
class _Claim:
    recipient: str
    body: bytes
    attempts: int
    kind: str
    case_id: int | None
    channel: str


def _claim(session: Session, transports: Transports, ids: list[int], now: datetime,
           lease: timedelta) -> dict[int, _Claim | str]:
    """Mark the rows ``sending`` with a lease, or say (a status) why a row is
    not to be sent now. Due rows, the usual case, take one UPDATE together."""
    channels = ["email", *(["sms"] if transports.sms is not None else [])]
    claimed = {
        row.id: _Claim(*row[1:]) for row in session.connection().execute(
            update(Outbox)
            .where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.PENDING,
                   Outbox.next_attempt_at <= now, Outbox.channel.in_(channels))
            .values(status=OutboxStatus.SENDING, claimed_until=now + lease,
                    attempts=Outbox.attempts + 1)
            .returning(Outbox.id, Outbox.recipient, Outbox.body, Outbox.attempts, Outbox.kind,
                       Outbox.case_id, Outbox.channel))
    }
    return {i: claimed[i] if i in claimed else _claim_other(session, transports, i, now, lease)
            for i in ids}


def _claim_other(session: Session, transports: Transports, outbox_id: int, now: datetime,
                 lease: timedelta) -> _Claim | str:
    """A row the plain claim did not take: missing, not due, no transport for
    its channel, or still ``sending`` from an attempt that may have died."""
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
    row.status, row.claimed_until = OutboxStatus.SENDING, now + lease
    row.attempts += 1
    return _Claim(row.recipient, row.body, row.attempts, row.kind, row.case_id, row.channel)


def _settle(session: Session, outbox_id: int, claim: _Claim, error: Exception | None,
            provider_id: str | None, now: datetime, policy: DeliveryPolicy) -> str:
    status, values, event = _settlement(error, claim.attempts, now, policy)
    if error is None:
        values["provider_id"] = provider_id
    session.connection().execute(update(Outbox).where(Outbox.id == outbox_id)
                                 .values(claimed_until=None, status=status, **values))
    kind, attempt = f"{claim.kind}.{event}", claim.attempts
    if event is not None and error is None:
        audit.record(session, "system:notify", kind, case_id=claim.case_id,
                     outbox_id=outbox_id, attempt=attempt, channel=claim.channel)
    elif event is not None:
        audit.record(session, "system:notify", kind, case_id=claim.case_id,
                     outbox_id=outbox_id, attempt=attempt, error=type(error).__name__)
    if status == OutboxStatus.UNCERTAIN:
        log.error("outbox outcome unknown, not resending outbox_id=%s", outbox_id)
    elif status == OutboxStatus.FAILED:
        log.error("outbox delivery failed for good outbox_id=%s attempts=%s", outbox_id, attempt)
    elif status == OutboxStatus.PENDING:
        log.warning("outbox delivery will be retried outbox_id=%s attempt=%s", outbox_id, attempt)
    return status


def _settlement(error: Exception | None, attempt: int, now: datetime,
                policy: DeliveryPolicy) -> tuple[str, dict[str, Any], str | None]:
    """What an attempt's answer makes of the row: its status, the columns
    to write, and the event to record (none for a retry to come)."""
    if error is None:
        return OutboxStatus.SENT, {"sent_at": now, "last_error": None}, "sent"
    said = str(error)[:2000]
    if isinstance(error, OutcomeUnknownError):  # may have gone out: never resent blindly
        # next_attempt_at: since when it is uncertain
        return OutboxStatus.UNCERTAIN, {"last_error": said, "next_attempt_at": now}, "uncertain"
    if isinstance(error, PermanentError) or attempt >= policy.max_attempts:
        return OutboxStatus.FAILED, {"last_error": said}, "failed"
    return (OutboxStatus.PENDING,
            {"last_error": said, "next_attempt_at": now + policy.backoff(attempt)}, None)


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
