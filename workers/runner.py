"""One runner for every long-running loop: the IMAP listener, the SMS
poller, the scheduler and the embedded ``synpunkt run``.

As GNU Mailman's ``Runner`` gives every queue runner one loop, a loop here
only says what one round of its work is (``do_round``) and how it waits for
the next (``snooze``). The runner gives them all the same rest:

- a heartbeat row (started, beating while it waits, ``stopped`` at the end);
- after a failure, a wait that grows: ``backoff`` (full jitter, capped);
- a server away or a setting wrong (TransientError, PermanentError, or the
  database refusing: sqlalchemy's OperationalError) is reported on the
  heartbeat with its own one-line message and tried again;
- anything else is a bug: its traceback is logged once, without the
  exception's message (config.unexpected), and the loop goes on;
- a graceful stop: ``stop`` ends the wait at once and the round in hand is
  finished, never cut.
"""

from __future__ import annotations

import logging
import random
import threading

from sqlalchemy.exc import OperationalError

from cases.db import db_problem
from config.errors import PermanentError, TransientError
from config.unexpected import log_unexpected
from workers.heartbeat import Heartbeat

log = logging.getLogger(__name__)

EXPECTED = (TransientError, PermanentError, OperationalError)
UNEXPECTED_DETAIL = "oväntat fel, se loggen"


class Runner:
    """Subclasses set ``name`` and implement ``do_round``; they may override
    ``snooze``, ``backoff``, ``failed`` and ``finish``."""

    name = "runner"
    max_backoff = 60.0

    def __init__(self, heartbeat: Heartbeat, stop: threading.Event | None = None) -> None:
        self.heartbeat = heartbeat
        self.stop = stop or threading.Event()
        self.failures = 0  # rounds failed in a row

    def run(self) -> None:
        self.heartbeat.start()
        try:
            while not self.stop.is_set():
                delay = self._round()
                if delay is not None:
                    self.heartbeat.sleep(self.stop, delay)
        finally:
            self.finish()
            self.heartbeat.stopped()

    def _round(self) -> float | None:
        """One round and the wait after it (a wait can fail too: an IMAP IDLE
        whose connection dies); after a failure, how long to back off."""
        try:
            self.do_round()
            self.failures = 0
            self.snooze()
        except EXPECTED as exc:
            self.failures += 1
            delay = self.backoff(self.failures)
            self.failed(exc, self.describe(exc), delay)
            return delay
        except Exception as exc:
            self.failures += 1
            delay = self.backoff(self.failures)
            log_unexpected(log, self.name, exc)
            self.failed(exc, UNEXPECTED_DETAIL, delay)
            return delay
        return None

    def do_round(self) -> None:
        """One round of the loop's work; a success is reported by the loop."""
        raise NotImplementedError

    def snooze(self) -> None:
        """Wait for the next round (the heartbeat beats meanwhile)."""
        self.heartbeat.sleep(self.stop, 1.0)

    def backoff(self, failures: int) -> float:
        """How long to wait after ``failures`` failed rounds in a row."""
        return backoff_delay(failures, self.max_backoff)

    def failed(self, exc: BaseException, detail: str, delay: float) -> None:
        """Report a failed round (the next in ``delay`` seconds): on the
        heartbeat, and one log line."""
        self.heartbeat.report("retrying", failing=True, detail=detail[:200])
        log.warning("%s failed, again in %.0f s error=%s", self.name, delay, type(exc).__name__)

    def finish(self) -> None:
        """Release what the loop holds (a connection) when it stops."""

    @staticmethod
    def describe(exc: BaseException) -> str:
        """The one line a person reads on the health page for an expected failure."""
        return db_problem(exc) if isinstance(exc, OperationalError) else str(exc)


def backoff_delay(failures: int, cap: float) -> float:
    """Exponential backoff with full jitter: up to 1, 2, 4 ... ``cap`` seconds."""
    return random.uniform(0.5, min(cap, 2.0 ** (failures - 1)))
