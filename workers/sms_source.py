"""The SMS poller: the loop in the listener process that reconciles against
the gateway's history (``service.sms_intake.poll``), so what a webhook missed
is caught and nothing is stored twice."""

from __future__ import annotations

import logging
import threading

from config.errors import PermanentError, TransientError
from ingest.sms.gateway import Gateway
from service.app import App
from service.sms_intake import Enqueue, poll
from workers.heartbeat import heartbeat_of
from workers.listener import backoff_delay

log = logging.getLogger(__name__)
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
        self.heartbeat = heartbeat_of(app, "sms", gateway.name,
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
