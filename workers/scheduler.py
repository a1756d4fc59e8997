"""The scheduler: every ``SYNPUNKT_SWEEP_SECONDS``, settle uncertain SMS
against the gateway, sweep for rows whose enqueue was lost (the listener died
after its commit, Redis was away), queue the morning's digests and delay
notices, and run the day's gallring. A loop under the runner."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from cases.models import Inbound, InboundStatus
from notify import attempt, outbox
from service.app import App
from service.gallring import DailyGallring
from service.reminders import MorningJobs
from workers.heartbeat import heartbeat_of
from workers.listener import Enqueue, chunks
from workers.runner import Runner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sweep:
    inbound: int
    outbox: int


def sweep(app: App, process: Enqueue, deliver: Enqueue,
          now: datetime | None = None,
          waiting: Callable[[], Mapping[str, int]] | None = None) -> Sweep:
    """Re-enqueue rows the queue has lost. ``waiting`` tells how many messages
    each queue still holds: while a queue is not empty the workers have not
    reached its backlog yet, and re-enqueueing every old row in each round
    would feed them thousands of duplicates under load (each a wasted
    transaction). A row whose enqueue was lost then waits until its queue has
    drained, and is sent again in the first sweep after that. What a sweep
    finds goes in batches, as the listener's mail does: after an outage the
    whole backlog comes this way."""
    now = now or app.clock()
    grace = timedelta(seconds=app.settings.sweep_grace_seconds)  # fresh rows: normal path
    depth = waiting() if waiting is not None else {}
    stale: list[int] = []
    if depth.get("ingest", 0) == 0:
        with app.sessions() as session:
            stale = list(session.scalars(
                select(Inbound.id)
                .where(Inbound.status == InboundStatus.RECEIVED, Inbound.received_at < now - grace)
                .order_by(Inbound.id)
            ))
    due = (outbox.due_ids(app.sessions, now, app.delivery_policy.silent_claimer, grace)
           if depth.get("notify", 0) == 0 else [])
    for ids in chunks(stale, app.settings.worker_batch):
        process(ids)
    for ids in chunks(due, attempt.CLAIM_BATCH):
        deliver(ids)
    if stale or due:
        log.info("sweep re-enqueued inbound=%s outbox=%s", len(stale), len(due))
    return Sweep(len(stale), len(due))


class Scheduler(Runner):
    name = "scheduler"

    def __init__(self, app: App, process: Enqueue, deliver: Enqueue,
                 waiting: Callable[[], Mapping[str, int]],
                 stop: threading.Event | None = None) -> None:
        super().__init__(heartbeat_of(app, "scheduler", "scheduler",
                                      success_within=2 * app.settings.sweep_seconds + 60), stop)
        self.app = app
        self.process, self.deliver, self.waiting = process, deliver, waiting
        self.gallring = DailyGallring()
        self.morning = MorningJobs()

    def do_round(self) -> None:
        app = self.app
        if app.gateway is not None:  # lost answers from the SMS gateway
            outbox.reconcile_uncertain(app.sessions, app.gateway.find_sent, app.clock())
        sweep(app, self.process, self.deliver, waiting=self.waiting)
        for ids in chunks(self.morning(app), attempt.CLAIM_BATCH):  # digests, delay notices
            self.deliver(ids)
        self.gallring(app)  # once a day, per the kommun's gallringsbeslut
        self.heartbeat.report("running", success=True)

    def snooze(self) -> None:
        self.heartbeat.sleep(self.stop, self.app.settings.sweep_seconds)

    def backoff(self, failures: int) -> float:
        return float(self.app.settings.sweep_seconds)  # Redis or the database away: next round
