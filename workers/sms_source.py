"""The SMS poller: the loop in the listener process that reconciles against
the gateway's history (``service.sms_intake.poll``), so what a webhook missed
is caught and nothing is stored twice."""

from __future__ import annotations

import logging
import threading

from ingest.sms.gateway import Gateway
from service.app import App
from service.sms_intake import Enqueue, poll
from workers.heartbeat import heartbeat_of
from workers.runner import Runner, backoff_delay

log = logging.getLogger(__name__)
class SmsPoller(Runner):
    """The poll loop of the listener process, under the runner."""

    name = "sms poller"

    def __init__(self, app: App, gateway: Gateway, enqueue: Enqueue,
                 stop: threading.Event | None = None, max_backoff: float = 60.0) -> None:
        interval = app.settings.sms_poll_seconds
        super().__init__(heartbeat_of(app, "sms", gateway.name,
                                      success_within=interval + max_backoff + 60), stop)
        self.app = app
        self.gateway = gateway
        self.enqueue = enqueue
        self.max_backoff = max_backoff
        self.interval = interval

    def do_round(self) -> None:
        poll(self.app, self.gateway, self.enqueue)
        self.heartbeat.report("polling", success=True)

    def snooze(self) -> None:
        self.heartbeat.sleep(self.stop, self.interval)

    def backoff(self, failures: int) -> float:
        return min(self.interval, backoff_delay(failures, self.max_backoff))
