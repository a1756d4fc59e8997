"""Delivery beside a pass: ``run_once`` hands each batch's committed outbox
rows to a thread of its own, so that the SMTP conversations and their
points of no return wait while the next batch is classified and
registered, as the production workers' threads overlap. What the courier
could not send (the server or the database away, a bug) stays in the
outbox: the pass's own sweep after it takes what is due, a later pass the
rest, when the row's next attempt comes."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence

from config.unexpected import log_unexpected
from notify import attempt, sending
from service.app import App
from workers.listener import chunks
from workers.runner import EXPECTED

log = logging.getLogger(__name__)


class Courier:
    """One delivery thread for one pass: ``hand`` rows as they commit,
    ``finish`` to wait for the last of them; statuses by outbox id."""

    def __init__(self, app: App, claimer: str | None = None) -> None:
        self._app = app
        self._claimer = claimer
        self._rows: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()
        self.statuses: dict[int, str] = {}
        self._thread = threading.Thread(target=self._run, name="courier", daemon=True)
        self._thread.start()

    def hand(self, outbox_ids: Sequence[int]) -> None:
        if outbox_ids:
            self._rows.put(list(outbox_ids))

    def finish(self) -> dict[int, str]:
        self._rows.put(None)
        self._thread.join()
        return self.statuses

    def _run(self) -> None:
        app = self._app
        try:
            while (ids := self._rows.get()) is not None:
                for chunk in chunks(ids, attempt.CLAIM_BATCH):
                    try:
                        self.statuses.update(sending.deliver_many(
                            app.sessions, app.transports, chunk, app.clock(),
                            app.delivery_policy, self._claimer))
                    except EXPECTED as exc:  # left due: the pass's sweep tries them again
                        log.warning("delivery beside the pass stopped error=%s",
                                    type(exc).__name__)
                    except Exception as exc:  # a bug: the rows stay in the outbox
                        log_unexpected(log, "delivery beside the pass", exc)
        finally:  # this thread's SMTP connection, politely
            close = getattr(app.transports.email, "close", None)
            if callable(close):
                close()
