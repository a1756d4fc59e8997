"""A Synpunkt production stack for tests: private Dovecot, SMTP sink, Redis,
PostgreSQL, and `synpunkt` processes started and stopped like a real operator."""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from cases.models import Inbound, Outbox
from tests.harness.dovecot import Dovecot
from tests.harness.redis_server import flush_redis_db, redis_url
from tests.harness.smtp import SmtpSink
from tests.support import FIXTURES, manifest, run_cli, synpunkt_cmd

USER, PASSWORD = "synpunkter@ekby.example", "hem ligt@/%?"


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    dovecot: Dovecot
    sink: SmtpSink
    engine: Engine
    procs: list[subprocess.Popen[bytes]]

    def start(self, *command: str) -> subprocess.Popen[bytes]:
        # Each start its own log: a restarted process must not truncate the
        # log of the one it replaces (what a killed worker did is evidence).
        started = len(list(self.home.glob(f"{command[0]}-*.log")))
        log = open(self.home / f"{command[0]}-{started}.log", "xb")  # noqa: SIM115
        proc = subprocess.Popen([synpunkt_cmd(), *command], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        proc.args = [synpunkt_cmd(), *command]
        self.procs.append(proc)
        return proc

    def kill9_and_restart(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """kill -9 the process group, as a crash would, and start the same command."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        self.procs.remove(proc)
        return self.start(*list(proc.args)[1:])

    def stop_all(self) -> list[int | None]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes.append(None)
        return codes

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.home.glob("*.log"))


@contextmanager
def running_stack(tmp_path: Path, postgres_url: str, redis: str,
                  extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    flush_redis_db(redis)
    dovecot = Dovecot(tmp_path / "dovecot")
    dovecot.add_user(USER, PASSWORD)
    dovecot.start()
    sink = SmtpSink(tmp_path / "sink")
    sink.start()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    env |= {
        "SYNPUNKT_HOME": str(home), "SYNPUNKT_DATABASE_URL": postgres_url,
        "SYNPUNKT_REDIS_URL": redis, "SYNPUNKT_IMAP_URL": dovecot.url(USER, PASSWORD),
        "SYNPUNKT_SMTP_URL": sink.url(), "SYNPUNKT_SWEEP_SECONDS": "1",
        "SYNPUNKT_WORKER_THREADS": "4", **(extra_env or {}),
    }
    run_cli("db", "upgrade", home=home, env=env)
    engine = create_engine(postgres_url)
    s = Stack(home, env, dovecot, sink, engine, [])
    try:
        yield s
    finally:
        s.stop_all()
        engine.dispose()
        sink.stop()
        dovecot.stop()


@pytest.fixture
def stack(tmp_path: Path, postgres_url: str) -> Iterator[Stack]:
    redis = redis_url()
    assert redis, "Redis is needed (SYNPUNKT_TEST_REDIS_URL or 127.0.0.1:6379)"
    with running_stack(tmp_path, postgres_url, redis) as s:
        yield s


def citizen_mails() -> list[tuple[str, bytes]]:
    """The foundation's fixtures (without the reply, and without the empty file:
    an IMAP server cannot hold a zero-byte message) plus citizen mails made
    from them with new senders: 60 mails."""
    entries = [e for e in manifest()
               if e["expect"] != "reply" and (FIXTURES / e["file"]).stat().st_size > 0]
    mails = [(e["file"], (FIXTURES / e["file"]).read_bytes()) for e in entries]
    citizens = [e for e in entries if e["expect"] == "case" and e["sender"]]
    for i in range(60 - len(mails)):
        entry = citizens[i % len(citizens)]
        raw = (FIXTURES / entry["file"]).read_bytes()
        raw = raw.replace(entry["sender"].encode(), f"medborgare{i}@example.se".encode())
        raw = re.sub(rb"(?im)^Message-ID:[^\n]*", f"Message-ID: <extra{i}@example.se>".encode(),
                     raw, count=1)
        mails.append((f"extra{i}", raw))
    return mails


def wait_until(predicate: object, timeout: float, stack: Stack, what: str,
               every: float = 0.2) -> None:
    """Ask ``predicate`` every ``every`` seconds until it holds; a predicate
    that starts a command (``synpunkt health``: a second of CPU) asks less often."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        for proc in stack.procs:
            assert proc.poll() is None, f"a process died:\n{stack.logs()}"
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}\n{stack.logs()}")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Inbound.status, func.count()).group_by(Inbound.status)).all()
    return {status: n for status, n in rows}


def outbox_statuses(engine: Engine, kind: str | None = "mottagningsbevis") -> dict[str, int]:
    """Outbox rows per status: the receipts, or with kind=None every row
    (the notices to the chefs too)."""
    query = select(Outbox.status, func.count()).group_by(Outbox.status)
    if kind is not None:
        query = query.where(Outbox.kind == kind)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {status: n for status, n in rows}


def receipts(messages: list[bytes]) -> list[email.message.EmailMessage]:
    """The mottagningsbevis among delivered mails (a notice to a chef is
    `Auto-Submitted: auto-generated`)."""
    out = []
    for raw in messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        if msg["Auto-Submitted"] == "auto-replied":
            out.append(msg)
    return out


