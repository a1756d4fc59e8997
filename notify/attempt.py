"""One delivery attempt per outbox row, at most once: claim (status
``sending`` with a lease, committed), send, settle (committed). Rows that
one event queued together go as a batch: one claim, one settle."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.models import Outbox, OutboxStatus
from config.errors import OutcomeUnknownError, PermanentError, TransientError
from notify.delivery import Transports

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
    not to be sent now. Due rows, the usual case, take one UPDATE together.

    Both statements find the rows by primary key alone. An index on status
    keeps an entry for every row that was ever pending until VACUUM removes
    it; a plan through it (PostgreSQL's planner picks one for ``id IN (...)
    AND status = 'pending'``) grows with the outbox between vacuums, and on a
    server without autovacuum, for ever."""
    channels = ["email", *(["sms"] if transports.sms is not None else [])]
    conn = session.connection()
    found = {row.id: row for row in conn.execute(
        select(Outbox.id, Outbox.status, Outbox.next_attempt_at, Outbox.channel)
        .where(Outbox.id.in_(ids)).with_for_update())}
    due = [i for i, row in found.items()
           if row.status == OutboxStatus.PENDING and row.next_attempt_at <= now
           and row.channel in channels]
    claimed = {
        row.id: _Claim(*row[1:]) for row in conn.execute(
            update(Outbox).where(Outbox.id.in_(due))
            .values(status=OutboxStatus.SENDING, claimed_until=now + lease,
                    attempts=Outbox.attempts + 1)
            .returning(Outbox.id, Outbox.recipient, Outbox.body, Outbox.attempts, Outbox.kind,
                       Outbox.case_id, Outbox.channel))
    } if due else {}
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
