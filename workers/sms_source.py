"""SMS in: the webhook's fast path and the poll that reconciles.

Both store through ``cases.sms.store_sms`` (upserted on gateway and message
id) and enqueue processing only after their commit. The poller runs in the
listener process (and in each pass of ``synpunkt run``): it asks the gateway
for everything since a little before the newest SMS it has seen, so what a
webhook missed is caught and nothing is stored twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cases.sms import load_cursor, save_cursor, store_sms
from config.errors import PermanentError, TransientError
from ingest.sms.gateway import Gateway
from ingest.sms.record import SmsRecord
from workers.app import App
from workers.listener import backoff_delay

log = logging.getLogger(__name__)
Enqueue = Callable[[int], None]


def receive(app: App, record: SmsRecord, enqueue: Enqueue) -> int:
    """Store one SMS from a webhook (committed before this returns, so the
    gateway is answered 2xx only for what is safe) and enqueue it if new."""
    with app.sessions.begin() as session:
        stored = store_sms(session, record, app.clock())
    if stored.created:
        _enqueue(enqueue, stored.inbound_id)
        log.info("sms stored by webhook inbound_id=%s", stored.inbound_id)
    return stored.inbound_id


def poll(app: App, gateway: Gateway, enqueue: Enqueue) -> list[int]:
    """One reconciliation against the gateway's history; returns new inbound ids."""
    source = f"sms:{gateway.name}"
    with app.sessions() as session:
        cursor = load_cursor(session, source)
    fetched = gateway.fetch_since(cursor, app.clock())
    created: list[int] = []
    with app.sessions.begin() as session:
        for record in fetched.records:
            stored = store_sms(session, record, app.clock())
            if stored.created:
                created.append(stored.inbound_id)
        if fetched.cursor:
            save_cursor(session, source, fetched.cursor)
    for inbound_id in created:
        _enqueue(enqueue, inbound_id)
    if created:
        log.info("sms poll stored count=%s seen=%s pages=%s", len(created),
                 len(fetched.records), fetched.pages)
    return created


def _enqueue(enqueue: Enqueue, inbound_id: int) -> None:
    try:
        enqueue(inbound_id)
    except Exception as exc:  # the scheduler's sweep picks the row up later
        log.warning("sms enqueue failed inbound_id=%s error=%s", inbound_id, type(exc).__name__)


class SmsPoller:
    """The poll loop of the listener process, with its heartbeat."""

    def __init__(self, app: App, gateway: Gateway, enqueue: Enqueue,
                 stop: threading.Event | None = None, max_backoff: float = 60.0) -> None:
        self.app = app
        self.gateway = gateway
        self.enqueue = enqueue
        self.stop = stop or threading.Event()
        self.max_backoff = max_backoff
        interval = app.settings.sms_poll_seconds
        self.heartbeat = app.heartbeat("sms", gateway.name,
                                       success_within=interval + max_backoff + 60)

    def run(self) -> None:
        failures = 0
        interval = self.app.settings.sms_poll_seconds
        self.heartbeat.start()
        while not self.stop.is_set():
            try:
                poll(self.app, self.gateway, self.enqueue)
            except (TransientError, PermanentError) as exc:
                failures += 1
                delay = min(interval, backoff_delay(failures, self.max_backoff))
                self.heartbeat.report("retrying", failing=True, detail=str(exc)[:200])
                log.warning("sms poll failed gateway=%s error=%s", self.gateway.name,
                            type(exc).__name__)
                self.heartbeat.sleep(self.stop, delay)
                continue
            except Exception as exc:  # the database away: keep the loop alive
                failures += 1
                self.heartbeat.report("retrying", failing=True, detail=type(exc).__name__)
                log.warning("sms poll failed error=%s", type(exc).__name__)
                self.heartbeat.sleep(self.stop, min(interval, backoff_delay(failures,
                                                                            self.max_backoff)))
                continue
            failures = 0
            self.heartbeat.report("polling", success=True)
            self.heartbeat.sleep(self.stop, interval)
        self.heartbeat.stopped()
