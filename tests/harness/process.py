"""Process control for the test servers: free ports, one process group per
server, and the ``ServerProcess`` base class every server of the harness extends.

Every server runs as a separate process in its own process group, on a free
port on 127.0.0.1, with all its files under a directory the test gives it
(pytest's ``tmp_path``). ``stop()`` kills the whole group (SIGTERM, then SIGKILL),
``kill9()`` SIGKILLs it at once, ``start()`` again comes back on the same port.
Use them as context managers, or call ``close()`` in a ``finally``/fixture
teardown; any group still alive when the interpreter exits is SIGKILLed.

No pytest in here (nor anywhere in ``tests/harness``): the fixtures live in the tests.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (the sockets are held until all are picked)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


_LIVE_GROUPS: set[int] = set()


@atexit.register
def _kill_leftover_groups() -> None:
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def _group_alive(pgid: int, *, besides: int | None = None) -> bool:
    """True while a process (not a zombie) of the group, other than ``besides``, is alive.

    Zombies count as gone: children orphaned by a killed master are reaped by PID 1,
    which here can take seconds. Without /proc, ``besides`` is ignored.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit() or entry.name == str(besides):
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        # fields: state ppid pgrp ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _wait_group_gone(pgid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return True
        time.sleep(0.01)
    return not _group_alive(pgid)


class ServerError(RuntimeError):
    """A server did not start (the message includes the end of its log)."""


class ServerProcess:
    """One server process started in its own process group."""

    name = "server"
    # Dovecot's master sleeps up to 1 s after SIGTERM waiting for children that are
    # already gone; once only the leader is left it is SIGKILLed instead.
    _kill_lone_leader = False

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _spawn(self, argv: Sequence[str], *, stdout: int | IO[Any] | None,
               stderr: int | IO[Any] | None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        if self.running:
            raise ServerError(f"{self.name} is already running (pid {self.pid})")
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, cwd=cwd, start_new_session=True)
        self._proc = proc
        _LIVE_GROUPS.add(proc.pid)
        return proc

    def _signal_group(self, sig: int) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def _reap(self, deadline: float) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        _wait_group_gone(proc.pid, deadline)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the whole process group; SIGKILL what is left after ``timeout``.

        SIGTERM is repeated every 0.1 s: a child forked a moment ago (Dovecot forks a
        login process per connection) can lose a signal that arrives before it has
        installed its handlers, and would then keep its master waiting.
        """
        proc = self._proc
        if proc is None:
            return
        deadline = time.monotonic() + timeout
        next_term = 0.0
        while True:
            now = time.monotonic()
            if now >= next_term:
                self._signal_group(signal.SIGTERM)
                next_term = now + 0.1
            if proc.poll() is not None and not _group_alive(proc.pid):
                break
            if (self._kill_lone_leader and proc.poll() is None
                    and not _group_alive(proc.pid, besides=proc.pid)):
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            if now >= deadline:
                self._signal_group(signal.SIGKILL)
                self._reap(time.monotonic() + 5.0)
                break
            time.sleep(0.005)
        self._forget()

    def kill9(self) -> None:
        """SIGKILL the whole process group at once (a crash, as far as clients can tell)."""
        if self._proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self._reap(time.monotonic() + 5.0)
        self._forget()

    def _forget(self) -> None:
        proc = self._proc
        if proc is None:
            return
        proc.poll()
        if proc.returncode is None:  # cannot happen after SIGKILL, but never leak
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        _LIVE_GROUPS.discard(proc.pid)
        self._proc = None

    def _check_alive(self, log: Path | None) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is not None:
            code = proc.returncode
            self._signal_group(signal.SIGKILL)  # children it may have left behind
            self._reap(time.monotonic() + 5.0)
            self._forget()
            raise ServerError(f"{self.name} exited with {code} while starting"
                              + log_tail(log))

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def log_tail(*logs: Path | None, lines: int = 30) -> str:
    """The last ``lines`` of each log that exists, for a ServerError's message."""
    out = []
    for log in logs:
        if log is not None and log.exists():
            text = log.read_text("utf-8", "replace").splitlines()[-lines:]
            out.append(f"\n--- {log} ---\n" + "\n".join(text))
    return "".join(out)


@dataclass(frozen=True)
class RunAs:
    """Whom a server runs as: as root ``nobody:nogroup`` (through ``setpriv``),
    else the current user."""

    uid: int
    gid: int
    user: str
    group: str

    @property
    def prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]


def run_as() -> RunAs:
    if os.geteuid() == 0:
        user = pwd.getpwnam("nobody")
        group = "nogroup"
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            gid = user.pw_gid
            group = grp.getgrgid(gid).gr_name
        return RunAs(user.pw_uid, gid, user.pw_name, group)
    uid, gid = os.getuid(), os.getgid()
    return RunAs(uid, gid, pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name)
