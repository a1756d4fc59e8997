"""The outbox state machine: every change of an outbox row's status is
written here, each with its event in the audit log.

    pending ──claim──> sending ──settle──> sent | pending (retry) | failed | uncertain
    failed, uncertain ──resend (a person)──> pending
    uncertain ──confirm_sent (a person) / reconciled (the SMS gateway's history)──> sent
    pending, sending ──give_up (dead letter)──> failed | uncertain

A row is created ``pending`` (the column's default) by ``notify.outbox``.

One delivery attempt per outbox row, at most once: claim (status
``sending`` with a lease and the claiming process, committed), send,
settle (committed); ``notify.sending`` runs the attempts. Rows that one
event queued together go as a batch: one claim, then each row sent in
turn, its answer settled in the next row's point-of-no-return transaction
(the last one's on its own): ``settle_then_pass``, on PostgreSQL one
statement for the settlement, its event and the point of no return.

The transport calls ``commit`` at the point of no return (SMTP: before the
end of DATA; SMS: before the request), which records that point durably
and only if the claim is still this attempt's. So an attempt that died
before it certainly did not send, and its row is simply sent again; only
one that died between that point and the answer is ``uncertain``. A claim
whose process is known dead (its heartbeat silent or stopped) is released
at once, and a claim released under a live attempt costs nothing: that
attempt finds at its point of no return that the row is no longer its own,
and stops before anything reached the recipient."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from cases import audit, heartbeats
from cases.models import Outbox, OutboxStatus
from config.errors import OutcomeUnknownError, PermanentError
from notify.delivery import Transports

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    retry_base: timedelta = timedelta(seconds=30)  # first retry; doubles, capped at 1 h
    lease: timedelta = timedelta(minutes=5)  # longer than any transport's own timeout
    max_attempts: int = 8
    # A claim whose process has not beaten for this long is released.
    silent_claimer: timedelta = timedelta(seconds=60)

    def backoff(self, attempts: int) -> timedelta:
        seconds = self.retry_base.total_seconds() * 2 ** max(0, attempts - 1)
        return timedelta(seconds=min(3600.0, seconds))


DEFAULT_POLICY = DeliveryPolicy()
# Outbox rows claimed in one transaction by those who deliver in batches
# (each row still sent and settled on its own, so a death mid-batch leaves
# only the row in hand uncertain; the rest wait for their lease).
CLAIM_BATCH = 16


@dataclass(frozen=True, slots=True)
class Claim:
    recipient: str
    body: bytes
    attempts: int
    kind: str
    case_id: int | None
    channel: str


def claim(session: Session, transports: Transports, ids: list[int], now: datetime,
           policy: DeliveryPolicy, claimer: str | None) -> dict[int, Claim | str]:
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
        row.id: Claim(*row[1:]) for row in conn.execute(
            update(Outbox).where(Outbox.id.in_(due))
            .values(status=OutboxStatus.SENDING, claimed_until=now + policy.lease,
                    claimed_by=claimer, committed_at=None, attempts=Outbox.attempts + 1)
            .returning(Outbox.id, Outbox.recipient, Outbox.body, Outbox.attempts, Outbox.kind,
                       Outbox.case_id, Outbox.channel))
    } if due else {}
    return {i: claimed[i] if i in claimed
            else _claim_other(session, transports, i, now, policy, claimer) for i in ids}


def _claim_other(session: Session, transports: Transports, outbox_id: int, now: datetime,
                 policy: DeliveryPolicy, claimer: str | None) -> Claim | str:
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
        if _attempt_alive(session, row, now, policy):
            return row.status  # another attempt holds it right now
        if row.committed_at is not None and not transport.idempotent:
            row.status, row.claimed_until = OutboxStatus.UNCERTAIN, None
            row.next_attempt_at = now  # since when it is uncertain
            row.last_error = "avbrutet efter sista steget: oklart om meddelandet kom fram"
            audit.record(session, "system:notify", f"{row.kind}.uncertain",
                         case_id=row.case_id, outbox_id=row.id, attempt=row.attempts)
            log.error("outbox attempt interrupted at its end, not resending outbox_id=%s",
                      row.id)
            return row.status
        # Died before its point of no return: certainly not sent, so sent now.
        audit.record(session, "system:notify", f"{row.kind}.released", case_id=row.case_id,
                     outbox_id=row.id, attempt=row.attempts)
        log.warning("outbox attempt interrupted before sending, sending again outbox_id=%s",
                    row.id)
    elif row.status != OutboxStatus.PENDING or row.next_attempt_at > now:
        return row.status
    row.status, row.claimed_until = OutboxStatus.SENDING, now + policy.lease
    row.claimed_by, row.committed_at = claimer, None
    row.attempts += 1
    return Claim(row.recipient, row.body, row.attempts, row.kind, row.case_id, row.channel)


def _attempt_alive(session: Session, row: Outbox, now: datetime,
                   policy: DeliveryPolicy) -> bool:
    """Is the attempt that claimed ``row`` still going: within its lease,
    and its process (where it named one) not known dead?"""
    if row.claimed_until is None or row.claimed_until < now:
        return False
    return row.claimed_by is None or heartbeats.is_alive(session, row.claimed_by, now,
                                                         policy.silent_claimer)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the transport said to one claimed row: nothing (sent, with the
    provider's id where it gives one) or its error."""
    outbox_id: int
    claim: Claim
    error: Exception | None = None
    provider_id: str | None = None


def settle_then_pass(session: Session, answers: Sequence[Answer], now: datetime,
                     policy: DeliveryPolicy, passing: tuple[int, int] | None = None,
                     ) -> tuple[dict[int, str], bool]:
    """Settle ``answers`` and then, given ``passing`` (a row and the attempt
    that claimed it), record that row's point of no return, only while the
    claim is still that attempt's: all in the session's transaction.
    Returns the answers' statuses, and whether the point was recorded.

    On PostgreSQL each answer's settlement and its event are one statement,
    and the last one's carries the point of no return too (data-modifying
    CTEs): one statement for each mail delivered, not three."""
    if session.get_bind().dialect.name != "postgresql":
        statuses = {a.outbox_id: _settle_apart(session, a, now, policy) for a in answers}
        return statuses, passing is None or _pass(session, passing, now)
    statuses = {a.outbox_id: _settle_in_one(session, a, now, policy, None)[0]
                for a in answers[:-1]}
    if not answers:
        return statuses, passing is None or _pass(session, passing, now)
    last = answers[-1]
    statuses[last.outbox_id], passed = _settle_in_one(session, last, now, policy, passing)
    return statuses, passed


def _settle_apart(session: Session, answer: Answer, now: datetime,
                  policy: DeliveryPolicy) -> str:
    """Settle one answer in two statements: the row's UPDATE, its event."""
    status, values, event = _answer_settles(answer, now, policy)
    settled = session.connection().execute(
        _settlement_statement(tuple(sorted(values))),
        _settlement_values(answer, status, values)).rowcount
    if settled == 1 and event is not None:
        audit.write(session, "system:notify", event, case_id=answer.claim.case_id,
                    outbox_id=answer.outbox_id, **_event_detail(answer))
    return _settled(session, answer, status, settled)


def _settle_in_one(session: Session, answer: Answer, now: datetime, policy: DeliveryPolicy,
                   passing: tuple[int, int] | None) -> tuple[str, bool]:
    """Settle one answer, write its event and record ``passing``'s point of
    no return, in one statement (PostgreSQL)."""
    status, values, event = _answer_settles(answer, now, policy)
    params = _settlement_values(answer, status, values)
    if event is not None:
        params.update(audit.write_for_values("system:notify", event,
                                             case_id=answer.claim.case_id,
                                             **_event_detail(answer)))
    if passing is not None:
        params.update(pass_row=passing[0], pass_attempt=passing[1], pass_at=now)
    counts = session.connection().execute(
        _settlement_in_one(tuple(sorted(values)), event is not None, passing is not None),
        params).one()
    return _settled(session, answer, status, counts[0]), passing is None or counts[-1] == 1


def _answer_settles(answer: Answer, now: datetime,
                    policy: DeliveryPolicy) -> tuple[str, dict[str, Any], str | None]:
    status, values, event = _settlement(answer.error, answer.claim.attempts, now, policy)
    if answer.error is None:
        values["provider_id"] = answer.provider_id
    return status, values, None if event is None else f"{answer.claim.kind}.{event}"


def _settlement_values(answer: Answer, status: str, values: dict[str, Any]) -> dict[str, Any]:
    return {**{f"new_{k}": v for k, v in values.items()},
            "row": answer.outbox_id, "attempt": answer.claim.attempts, "new_status": status}


def _event_detail(answer: Answer) -> dict[str, Any]:
    if answer.error is None:
        return {"attempt": answer.claim.attempts, "channel": answer.claim.channel}
    return {"attempt": answer.claim.attempts, "error": type(answer.error).__name__}


def _settled(session: Session, answer: Answer, status: str, settled: int) -> str:
    """The row's status once its settlement ran (``settled``: the rows it
    changed), logged."""
    outbox_id, attempt = answer.outbox_id, answer.claim.attempts
    if settled != 1:
        log.warning("outbox attempt settled after its claim was released outbox_id=%s",
                    outbox_id)
        return str(session.scalar(select(Outbox.status).where(Outbox.id == outbox_id)))
    if status == OutboxStatus.UNCERTAIN:
        log.error("outbox outcome unknown, not resending outbox_id=%s", outbox_id)
    elif status == OutboxStatus.FAILED:
        log.error("outbox delivery failed for good outbox_id=%s attempts=%s", outbox_id, attempt)
    elif status == OutboxStatus.PENDING:
        log.warning("outbox delivery will be retried outbox_id=%s attempt=%s", outbox_id, attempt)
    return status


# The point of no return of a row (``pass_row``), recorded only while the
# claim is still the attempt's (``pass_attempt``); built once.
_POINT_OF_NO_RETURN = (
    update(Outbox).where(Outbox.id == bindparam("pass_row"),
                         Outbox.status == OutboxStatus.SENDING,
                         Outbox.attempts == bindparam("pass_attempt"))
    .values(committed_at=bindparam("pass_at")))


def _pass(session: Session, passing: tuple[int, int], now: datetime) -> bool:
    return session.connection().execute(_POINT_OF_NO_RETURN, {
        "pass_row": passing[0], "pass_attempt": passing[1], "pass_at": now}).rowcount == 1


@lru_cache(maxsize=32)
def _settlement_in_one(columns: tuple[str, ...], with_event: bool, passing: bool) -> Any:
    """The settling UPDATE of ``columns``, with its event where there is one
    and a row's point of no return where it is passed, as one statement that
    answers how many rows each UPDATE changed; built once for each shape."""
    settled = _settlement_statement(columns).returning(Outbox.id).cte("settled")
    counts = [select(func.count()).select_from(settled).scalar_subquery()]
    if passing:
        passed = _POINT_OF_NO_RETURN.returning(Outbox.id).cte("passed")
        counts.append(select(func.count()).select_from(passed).scalar_subquery())
    statement = select(*counts)
    if with_event:  # written though nothing reads it, as every data-modifying CTE
        statement = statement.add_cte(audit.write_for(settled.c.id).cte("recorded"))
    return statement


@lru_cache(maxsize=16)
def _settlement_statement(columns: tuple[str, ...]) -> Any:
    """The settling UPDATE that writes ``columns`` (one per kind of answer),
    built once. Still this attempt's row: ``sending``, or ``uncertain`` if
    this process was taken for dead after its point of no return (what it
    knows now settles the guess). A row released before that point was
    claimed again (attempts moved on), and this attempt never sent it."""
    return (update(Outbox)
            .where(Outbox.id == bindparam("row"), Outbox.attempts == bindparam("attempt"),
                   # two comparisons, not IN: a list is rendered anew at each execution
                   or_(Outbox.status == OutboxStatus.SENDING,
                       Outbox.status == OutboxStatus.UNCERTAIN))
            .values(claimed_until=None, status=bindparam("new_status"),
                    **{c: bindparam(f"new_{c}") for c in columns}))


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
    row.claimed_by, row.committed_at = None, None
    audit.record(session, actor, f"{row.kind}.resend", case_id=row.case_id, outbox_id=row.id,
                 previous=previous)
    return row


def confirm_sent(session: Session, outbox_id: int, actor: str, now: datetime) -> Outbox:
    """A person found that an uncertain message did reach its recipient
    (the mail server's log, the citizen said so): it is sent, not resent."""
    row = session.get(Outbox, outbox_id, with_for_update=True)
    if row is None:
        raise LookupError(f"utskick {outbox_id} finns inte")
    if row.status != OutboxStatus.UNCERTAIN:
        raise ValueError(f"utskick {outbox_id} är {row.status}; bara osäkra utskick kan "
                         "markeras som skickade")
    row.status, row.sent_at, row.last_error = OutboxStatus.SENT, row.sent_at or now, None
    audit.record(session, actor, f"{row.kind}.confirmed_sent", case_id=row.case_id,
                 outbox_id=row.id)
    return row


def reconciled(session: Session, row: Outbox, found: str | None, now: datetime,
               grace: timedelta) -> str | None:
    """An uncertain SMS checked against the gateway's history: ``sent`` when
    the gateway has it (``found`` is its id there), back to ``pending`` when it
    still lacks it ``grace`` after the attempt; None while it is too early."""
    if found is not None:
        row.status, row.provider_id, row.last_error = OutboxStatus.SENT, found, None
        row.sent_at = row.sent_at or now
    elif now - row.next_attempt_at >= grace:
        row.status, row.next_attempt_at = OutboxStatus.PENDING, now
    else:
        return None
    audit.record(session, "system:notify", f"{row.kind}.reconciled", case_id=row.case_id,
                 outbox_id=row.id, result=row.status)
    return row.status


def give_up(session: Session, outbox_id: int, reason: str, actor: str) -> None:
    """The workers gave up on a row (a dead letter): ``failed``, or
    ``uncertain`` when it was past its point of no return and may have gone out."""
    row = session.get(Outbox, outbox_id, with_for_update=True)
    if row is None or row.status not in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        return
    maybe_sent = row.status == OutboxStatus.SENDING and row.committed_at
    row.status = OutboxStatus.UNCERTAIN if maybe_sent else OutboxStatus.FAILED
    row.last_error = reason
    audit.record(session, actor, f"{row.kind}.{row.status}", case_id=row.case_id,
                 outbox_id=row.id, error="dead-letter")
