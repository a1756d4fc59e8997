"""Periodic jobs: sweep for rows whose enqueue was lost (listener died after
its commit, Redis was away), and later the deadline scans."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from cases.models import Inbound, InboundStatus
from notify import outbox
from service.app import App

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sweep:
    inbound: int
    outbox: int


def sweep(app: App, process: Callable[[int], None], deliver: Callable[[int], None],
          now: datetime | None = None,
          waiting: Callable[[], Mapping[str, int]] | None = None) -> Sweep:
    """Re-enqueue rows the queue has lost. ``waiting`` tells how many messages
    each queue still holds: while a queue is not empty the workers have not
    reached its backlog yet, and re-enqueueing every old row in each round
    would feed them thousands of duplicates under load (each a wasted
    transaction). A row whose enqueue was lost then waits until its queue has
    drained, and is sent again in the first sweep after that."""
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
    for inbound_id in stale:
        process(inbound_id)
    for outbox_id in due:
        deliver(outbox_id)
    if stale or due:
        log.info("sweep re-enqueued inbound=%s outbox=%s", len(stale), len(due))
    return Sweep(len(stale), len(due))
