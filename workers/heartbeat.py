"""A loop's heartbeat, written to the case register.

Every long-running loop (a listener per mailbox, the SMS poller, each
worker, the scheduler, the web, the embedded run) owns one ``Heartbeat``.
It reports its state whenever that changes and at least every
``interval`` while it runs; a loop that waits long waits through
``sleep()``, which beats on the way. A beat that cannot be written (the
database away) is logged and skipped: the row then goes silent, which is
what ``synpunkt health`` should see.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cases import heartbeats
from cases.heartbeats import STOPPED, Beat
from service.app import App

log = logging.getLogger(__name__)

_process: tuple[int, str] | None = None


def process_id() -> str:
    """This OS process's id for heartbeats and delivery claims: new in each
    process (and after a fork), never reused."""
    global _process
    if _process is None or _process[0] != os.getpid():
        _process = (os.getpid(), uuid.uuid4().hex)
    return _process[1]


def pid_alive(pid: int) -> bool:
    """Is a process with this pid running on this host?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


@dataclass(frozen=True, slots=True)
class Pulse:
    """How often loops beat, and when a silent one counts as dead."""

    interval: timedelta = timedelta(seconds=10)
    silent_after: timedelta = timedelta(seconds=60)


class Heartbeat:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 role: str, name: str, pulse: Pulse | None = None, *,
                 success_within: float | None = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.pulse = pulse or Pulse()
        self._lock = threading.Lock()
        self._beat = Beat(id=uuid.uuid4().hex, process_id=process_id(), role=role, name=name,
                          host=socket.gethostname(), pid=os.getpid(), started_at=clock(),
                          state="starting", success_within=success_within)
        self._written = -float("inf")  # monotonic time of the last row written
        self._warned = -float("inf")

    @property
    def id(self) -> str:
        return self._beat.id

    @property
    def process_id(self) -> str:
        return self._beat.process_id

    @property
    def state(self) -> str:
        return self._beat.state

    def start(self) -> None:
        """Write the first row, in place of this loop's departed predecessors."""
        now = self.clock()
        try:
            with self.sessions.begin() as session:
                heartbeats.replace_departed(session, self._beat, now, self.pulse.silent_after,
                                            pid_alive)
        except Exception as exc:  # the database away: the first beat that works will do
            self._warn(exc)
        self._write(force=True)

    def report(self, state: str, *, success: bool = False, failing: bool = False,
               detail: str = "") -> None:
        """The loop's state; ``success``: it just did its work (a listener
        heard its server); ``failing``: it is without its server (from now,
        if it was not already)."""
        now = self.clock()
        with self._lock:
            before = self._beat
            beat = replace(before, state=state, detail=detail)
            if success:
                beat = replace(beat, last_success_at=now, down_since=None)
            elif failing and before.down_since is None:
                beat = replace(beat, down_since=now)
            self._beat = beat
            changed = (beat.state, beat.detail, beat.down_since) != (
                before.state, before.detail, before.down_since)
        self._write(force=changed)

    def tick(self) -> None:
        """Still here, in the same state: written at most once per interval."""
        self._write(force=False)

    def sleep(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` or until ``stop`` is set, beating meanwhile;
        True when stopping."""
        deadline = time.monotonic() + seconds
        step = self.pulse.interval.total_seconds()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return stop.is_set()
            if stop.wait(min(step, left)):
                return True
            self.tick()

    def stopped(self) -> None:
        self.report(STOPPED)

    def _write(self, *, force: bool) -> None:
        # (a little under the interval: a loop that beats every interval writes each time)
        due = 0.9 * self.pulse.interval.total_seconds()
        if not force and time.monotonic() - self._written < due:
            return
        with self._lock:
            beat = self._beat
        try:
            with self.sessions.begin() as session:
                heartbeats.write(session, beat, self.clock())
        except Exception as exc:  # the database away: this row goes silent, as it should
            self._warn(exc)
            return
        self._written = time.monotonic()

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._warned >= 60:
            self._warned = time.monotonic()
            log.warning("heartbeat not written role=%s error=%s", self._beat.role,
                        type(exc).__name__)


class Pacemaker:
    """A thread that beats for a process whose work runs elsewhere (the
    dramatiq worker's threads, uvicorn): each interval it asks ``check`` for
    the state and a detail, and reports them."""

    def __init__(self, heartbeat: Heartbeat, check: Callable[[], tuple[str, str]],
                 stop: threading.Event) -> None:
        self.heartbeat = heartbeat
        self.check = check
        self.stop = stop
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{heartbeat.id[:8]}",
                                        daemon=True)

    def start(self) -> None:
        self.heartbeat.start()
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        interval = self.heartbeat.pulse.interval.total_seconds()
        while True:
            try:
                state, detail = self.check()
            except Exception as exc:  # a check that fails says so in the row
                state, detail = "error", type(exc).__name__
            self.heartbeat.report(state, success=state == "running", detail=detail)
            if self.stop.wait(interval):
                break
        self.heartbeat.stopped()


def heartbeat_of(app: App, role: str, name: str, *,
                 success_within: float | None = None) -> Heartbeat:
    """The heartbeat of one of this process's loops, paced by the settings."""
    s = app.settings
    pulse = Pulse(timedelta(seconds=s.heartbeat_seconds),
                  timedelta(seconds=s.heartbeat_silent_seconds))
    return Heartbeat(app.sessions, app.clock, role, name, pulse, success_within=success_within)
