"""Delivering outbox rows: each claimed (``notify.attempt``, which owns the
row's status), sent through its transport with its point of no return
committed first, and settled (``notify.attempt``) with the answer.

The transport calls ``commit`` at the point of no return (SMTP: before the
end of DATA; SMS: before the request). It is recorded durably, only while
the claim is still this attempt's, in one transaction with the settlement
of the rows answered since the last one: so a worker that dies leaves only
those ``uncertain`` (one, unless the rows between failed before their
end); the last row's answer is settled on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from cases.db import transient_db_errors
from cases.models import Outbox
from config.errors import ClaimLostError, OutcomeUnknownError, PermanentError, TransientError
from notify import attempt
from notify.attempt import DEFAULT_POLICY, Answer, Claim, DeliveryPolicy
from notify.delivery import Commit, Transports

__all__ = ["deliver", "deliver_many"]


def deliver(sessions: sessionmaker[Session], transports: Transports, outbox_id: int,
            now: datetime, policy: DeliveryPolicy | None = None, claimer: str | None = None) -> str:
    """Deliver one outbox row at most once; returns its status afterwards.
    ``claimer``: this process's heartbeat process id, so that its claims are
    released as soon as it is known dead (without one, when the lease ends)."""
    return deliver_many(sessions, transports, [outbox_id], now, policy, claimer)[outbox_id]


def deliver_many(sessions: sessionmaker[Session], transports: Transports,
                 outbox_ids: Sequence[int], now: datetime,
                 policy: DeliveryPolicy | None = None,
                 claimer: str | None = None) -> dict[int, str]:
    """Deliver the rows one event queued together (a case's mottagningsbevis
    and its notices, or a batch's) with deliver()'s rule for each: claimed
    in one transaction, then sent in order. Each answer is settled in the
    next row's point-of-no-return transaction, the last one's on its own:
    a worker that dies leaves only the rows answered since that transaction
    ``uncertain`` (one, unless the rows between failed before their end)."""
    policy = policy or DEFAULT_POLICY
    ids = list(dict.fromkeys(outbox_ids))
    with sessions.begin() as session:
        claims = attempt.claim(session, transports, ids, now, policy, claimer)
    statuses = {i: c for i, c in claims.items() if isinstance(c, str)}
    answers = _Answers(now, policy, statuses)
    try:
        for outbox_id, claim in claims.items():
            if isinstance(claim, Claim):
                _send_one(sessions, transports, outbox_id, claim, now, answers)
    finally:  # what was answered is settled, even when something unforeseen stops the batch
        if answers.waiting:
            with transient_db_errors(), sessions.begin() as session:
                _quick_commit(session)
                settled, _ = answers.settle(session)
            answers.done(settled)
    return {i: statuses[i] for i in ids}


def _send_one(sessions: sessionmaker[Session], transports: Transports, outbox_id: int,
              claim: Claim, now: datetime, answers: _Answers) -> None:
    error: Exception | None = None
    provider_id: str | None = None
    try:
        transport = transports.for_channel(claim.channel)
        provider_id = transport.send(outbox_id, claim.recipient, claim.body,
                                     _commit(sessions, outbox_id, claim, now, answers))
    except ClaimLostError:  # released meanwhile: another attempt owns the row
        with sessions() as session:
            answers.statuses[outbox_id] = str(session.scalar(
                select(Outbox.status).where(Outbox.id == outbox_id)))
        return
    except (TransientError, PermanentError, OutcomeUnknownError) as exc:
        error = exc
    answers.waiting.append(Answer(outbox_id, claim, error, provider_id))


@dataclass
class _Answers:
    """Rows answered and not yet settled, and the statuses of those settled."""
    now: datetime
    policy: DeliveryPolicy
    statuses: dict[int, str]
    waiting: list[Answer] = field(default_factory=list)

    def settle(self, session: Session, passing: tuple[int, int] | None = None,
               ) -> tuple[dict[int, str], bool]:
        """Settle the waiting answers in ``session``'s transaction, then
        record ``passing``'s point of no return (``attempt.settle_then_pass``);
        the caller records the statuses once it has committed (``done``)."""
        return attempt.settle_then_pass(session, self.waiting, self.now, self.policy, passing)

    def done(self, settled: dict[int, str]) -> None:
        """The statuses of the answers settled, once their transaction committed."""
        self.statuses.update(settled)
        self.waiting.clear()


def _quick_commit(session: Session) -> None:
    """The settlement's commit need not wait for the disk (PostgreSQL's
    synchronous_commit off for this transaction): the database has it the
    moment it answers, and only a crash of the database server itself could
    lose it, which leaves the row ``sending`` past its point of no return,
    that is ``uncertain``: never sent twice. What it buys: the worker's
    window between the end of DATA and the settlement, in which its death
    makes the row uncertain, no longer holds a disk flush. The point of no
    return itself (``_commit``) is always flushed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def _commit(sessions: sessionmaker[Session], outbox_id: int, claim: Claim,
            now: datetime, answers: _Answers) -> Commit:
    """The transport's point of no return for one row: recorded and
    committed, but only while the claim is still this attempt's; the
    answers that wait are settled in the same transaction."""
    def commit() -> None:
        with transient_db_errors(), sessions.begin() as session:
            settled, passed = answers.settle(session, (outbox_id, claim.attempts))
        answers.done(settled)
        if not passed:
            raise ClaimLostError(f"utskick {outbox_id}: försöket är inte längre vårt")
    return commit
