"""The production path end to end, on real servers over loopback: a private
Dovecot, an SMTP sink, Redis, PostgreSQL; `synpunkt listener`, two
`synpunkt worker` processes and `synpunkt scheduler` as separate processes."""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from cases.models import Case, Contact, Inbound, InboundStatus, Outbox, OutboxStatus
from tests.servers import Dovecot, SmtpSink, flush_redis_db, redis_url
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
        log = open(self.home / f"{command[0]}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([synpunkt_cmd(), *command], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

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


@pytest.fixture
def stack(tmp_path: Path, postgres_url: str) -> Iterator[Stack]:
    redis = redis_url()
    assert redis, "Redis is needed (SYNPUNKT_TEST_REDIS_URL or 127.0.0.1:6379)"
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
        "SYNPUNKT_WORKER_THREADS": "4",
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


def citizen_mails() -> list[tuple[str, bytes]]:
    """The foundation's fixtures (without the reply, and without the empty file:
    an IMAP server cannot hold a zero-byte message) plus citizen mails made
    from them with new senders: 60 mails."""
    entries = [e for e in manifest()
               if e["expect"] != "reply" and (FIXTURES / e["file"]).stat().st_size > 0]
    mails = [(e["file"], (FIXTURES / e["file"]).read_bytes()) for e in entries]
    citizens = [e for e in entries if e["expect"] == "case"]
    for i in range(60 - len(mails)):
        entry = citizens[i % len(citizens)]
        raw = (FIXTURES / entry["file"]).read_bytes()
        raw = raw.replace(entry["sender"].encode(), f"medborgare{i}@example.se".encode())
        raw = re.sub(rb"(?im)^Message-ID:[^\n]*", f"Message-ID: <extra{i}@example.se>".encode(),
                     raw, count=1)
        mails.append((f"extra{i}", raw))
    return mails


def wait_until(predicate: object, timeout: float, stack: Stack, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        for proc in stack.procs:
            assert proc.poll() is None, f"a process died:\n{stack.logs()}"
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{stack.logs()}")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Inbound.status, func.count()).group_by(Inbound.status)).all()
    return {status: n for status, n in rows}


def outbox_statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
    return {status: n for status, n in rows}


def test_sixty_mails_through_listener_and_two_workers(stack: Stack) -> None:
    mails = citizen_mails()
    assert len(mails) == 60
    for _name, raw in mails:
        stack.dovecot.append(USER, PASSWORD, raw)
    stack.start("listener")
    stack.start("worker", "--threads", "4")
    stack.start("worker", "--threads", "4")
    stack.start("scheduler")

    wait_until(lambda: sum(counts(stack.engine).values()) == 60
               and counts(stack.engine).get(InboundStatus.RECEIVED, 0) == 0,
               180, stack, "every inbound row processed")
    with stack.engine.connect() as conn:
        n_cases = conn.execute(select(func.count(Case.id))).scalar_one()
    wait_until(lambda: outbox_statuses(stack.engine) == {OutboxStatus.SENT: n_cases},
               120, stack, "every receipt delivered")

    entries = {e["file"]: e for e in manifest()}
    citizens = {e["sender"] for e in entries.values() if e["expect"] == "case"}
    citizens |= {f"medborgare{i}@example.se" for i in range(60 - 38)}
    automatic = {e["sender"] for e in entries.values()
                 if e["expect"] in ("ignored", "quarantined") and e["sender"]}
    assert n_cases == len(citizens)
    received = [email.message_from_bytes(m, policy=email.policy.default)
                for m in stack.sink.messages()]
    to = [str(m["To"]) for m in received]
    assert sorted(to) == sorted(citizens)  # exactly one receipt each
    assert not automatic & set(to)
    with stack.engine.connect() as conn:
        pairs = dict(conn.execute(select(Contact.email, Case.diarienummer).join(Case)).all())
    for m in received:
        assert f"[{pairs[str(m['To'])]}]" in str(m["Subject"])

    assert stack.dovecot.count(USER, PASSWORD, "INBOX") == 0
    assert stack.dovecot.count(USER, PASSWORD, stack.dovecot.processed_folder) == 60

    # A mail arriving during IDLE gets its receipt quickly (generous slack here;
    # benchmarks/ measures the real figure).
    before = len(stack.sink.messages())
    raw = mails[0][1].replace(b"birgitta.holm@example.se", b"ny.medborgare@example.se")
    raw = re.sub(rb"(?im)^Message-ID:[^\n]*", b"Message-ID: <idle1@example.se>", raw, count=1)
    started = time.monotonic()
    stack.dovecot.append(USER, PASSWORD, raw)
    wait_until(lambda: len(stack.sink.messages()) > before, 30, stack, "receipt during IDLE")
    assert time.monotonic() - started < 10

    assert stack.stop_all() == [0, 0, 0, 0], stack.logs()
