"""Thin dramatiq actors named ``domain.verb``: they take ids, load the row
through a service, and start the next step only after that commit.

``ingest.process`` takes the ids of one listener fetch in small batches:
it classifies the batch's mails in one model call, processes each in its
own transaction as before, and then delivers the receipts and notices the
batch committed over one claim and one SMTP connection (one message per
batch through Redis, and the receipts sooner than through a second hop);
``notify.deliver`` takes what has to wait: retries, rows the sweep finds,
digests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import dramatiq
from sqlalchemy import select

from cases import inbound
from cases.db import transient_db_errors
from cases.models import Outbox, OutboxStatus
from config.errors import OutcomeUnknownError, PermanentError, TransientError
from notify import attempt, sending
from service.app import App
from service.batch import prime, process_batch
from service.pipeline import Outcome
from workers.heartbeat import process_id

log = logging.getLogger(__name__)
RETRY: dict[str, Any] = {"max_retries": 12, "min_backoff": 500, "max_backoff": 120_000,
                         "throws": (PermanentError, OutcomeUnknownError)}


@dataclass(frozen=True)
class Actors:
    process: Any  # dramatiq.Actor: ingest.process(inbound_id or [inbound_id, ...])
    deliver: Any  # dramatiq.Actor: notify.deliver(outbox_id or [outbox_id, ...])


def declare_actors(broker: dramatiq.Broker, app: App) -> Actors:
    @dramatiq.actor(actor_name="ingest.process", queue_name="ingest", broker=broker, **RETRY)
    def ingest_process(inbound_ids: int | list[int]) -> None:
        """Process one stored message, or a batch of them. A retry after the
        database went away takes up the whole batch again: what was done
        already is only looked at (its row no longer ``received``)."""
        ids = [inbound_ids] if isinstance(inbound_ids, int) else list(inbound_ids)
        parsed = prime(app, ids) if len(ids) > 1 else {}  # one model call for the batch
        if len(ids) > 1:
            log.info("ingest batch mails=%s primed=%s", len(ids), len(parsed))
        outcomes: list[Outcome] = []
        try:
            process_batch(app, ids, parsed, outcomes)
        finally:  # what committed goes out even when the rest must wait for a retry
            deliver_committed([i for o in outcomes for i in o.outbox_ids])
        for outcome in outcomes:
            if outcome.waiting_until is not None:  # an SMS whose sender may still be typing
                wait = outcome.waiting_until - app.clock()
                ingest_process.send_with_options(
                    args=(outcome.inbound_id,),
                    delay=max(0, int(wait.total_seconds() * 1000)) + 100)

    def deliver_committed(outbox_ids: list[int]) -> None:
        if not outbox_ids:
            return
        try:
            deliver_now(outbox_ids)
        except TransientError:  # the database is away: notify.deliver retries them
            notify_deliver.send(outbox_ids)

    @dramatiq.actor(actor_name="notify.deliver", queue_name="notify", broker=broker, **RETRY)
    def notify_deliver(outbox_ids: int | list[int]) -> None:
        """Deliver one outbox row, or the rows one event queued together."""
        deliver_now([outbox_ids] if isinstance(outbox_ids, int) else outbox_ids)

    def deliver_now(ids: list[int]) -> None:
        """Deliver the rows; each that is to be tried again later goes back to
        the notify queue, delayed until its next attempt."""
        with transient_db_errors():
            statuses = sending.deliver_many(app.sessions, app.transports, ids, app.clock(),
                                           app.delivery_policy, process_id())
            again = [i for i, status in statuses.items() if status == OutboxStatus.PENDING]
            if not again:
                return
            with app.sessions() as session:
                due = {i: at for i, at in session.execute(
                    select(Outbox.id, Outbox.next_attempt_at).where(Outbox.id.in_(again)))}
        for outbox_id, at in due.items():  # each row at its own next attempt
            wait = at - app.clock()
            notify_deliver.send_with_options(args=(outbox_id,),
                                             delay=max(0, int(wait.total_seconds() * 1000)))

    return Actors(ingest_process, notify_deliver)


def mark_dead(app: App, actor_name: str, args: tuple[Any, ...], error: BaseException) -> None:
    """A message that failed for good: mark its row so a person sees it."""
    reason = f"dead-letter: {type(error).__name__} efter upprepade försök"
    with app.sessions.begin() as session:
        if actor_name == "ingest.process":
            for inbound_id in args[0] if isinstance(args[0], list) else args[:1]:
                inbound.quarantine_dead(session, inbound_id, reason, "system:worker")
        elif actor_name == "notify.deliver":
            ids = args[0] if args and isinstance(args[0], list) else list(args[:1])
            for outbox_id in ids:
                attempt.give_up(session, outbox_id, reason, "system:worker")
    log.error("dead letter actor=%s id=%s", actor_name, args[0] if args else None)


__all__ = ["Actors", "TransientError", "declare_actors", "mark_dead"]
