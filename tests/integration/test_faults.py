"""Faults on the production path, one at a time, loopback only, bounded in
count and time.

One stack (a private PostgreSQL cluster, a private Redis, a private Dovecot,
the SMTP sink; `synpunkt listener`, two `synpunkt worker` and `synpunkt
scheduler`) lives through, in turn: PostgreSQL stopped for 30 s, Redis
restarted, Dovecot restarted, SMTP answering 421, 451 and 554, and workers
SIGKILLed in a loop. Citizen mail flows before, during and after each fault,
and each fault ends with the same checks, computed from the database and the
sink: every mail stored once, every citizen mail one case, no recipient with
two receipts, nothing stuck, and what became of the mails sent during the
fault. One table row per fault is printed and written to
tests/artifacts/faults.md (tests/integration/test_full_disk.py adds the row
of a full disk in the embedded mode).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.models import Case, Inbound, InboundStatus, Outbox, OutboxStatus
from cases.queries import list_outbox
from tests.faults import PER_SLOT, Mail, Row, make_mails, receipt_recipients, write_table
from tests.harness.postgres import PostgresServer
from tests.harness.redis_server import RedisServer
from tests.stack import PASSWORD, USER, Stack, running_stack, wait_until
from tests.support import run_cli

PG_OUTAGE = 30.0
KILL_LOOP = 8.0
ENV = {"SYNPUNKT_SWEEP_GRACE_SECONDS": "3", "SYNPUNKT_DELIVERY_RETRY_SECONDS": "1",
       "SYNPUNKT_DELIVERY_LEASE_SECONDS": "8", "SYNPUNKT_IMAP_IDLE_SECONDS": "30",
       "SYNPUNKT_IMAP_MAX_BACKOFF_SECONDS": "4"}


Did = str | Callable[[], str]  # what the system did; a callable is read once settled


def append_all(stack: Stack, mails: list[Mail], spread: float = 0.0) -> None:
    """APPEND each mail (retrying while Dovecot is away), spread over `spread` s."""
    for mail in mails:
        for _ in range(300):
            try:
                stack.dovecot.append(USER, PASSWORD, mail.raw)
                break
            except Exception:
                time.sleep(0.1)
        else:
            raise AssertionError(f"could not APPEND {mail.mid}")
        time.sleep(spread / max(1, len(mails)))


def in_background(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def settled(stack: Stack, mails: list[Mail]) -> bool:
    """Every mail stored, none waiting, no receipt pending or being sent."""
    with stack.engine.connect() as conn:
        stored = set(conn.execute(select(Inbound.message_id).where(
            Inbound.message_id.in_([m.mid for m in mails]))).scalars())
        waiting = conn.execute(select(func.count()).where(
            Inbound.status == InboundStatus.RECEIVED)).scalar_one()
        busy = conn.execute(select(func.count()).where(Outbox.status.in_(
            [OutboxStatus.PENDING, OutboxStatus.SENDING]))).scalar_one()
    return len(stored) == len(mails) and waiting == 0 and busy == 0


def sink_receipts(stack: Stack) -> Counter[str]:
    """Receipts (Auto-Submitted: auto-replied) the sink accepted, per recipient."""
    return receipt_recipients(stack.sink.messages())


@dataclass(frozen=True)
class Verdict:
    lost: int
    duplicates: int
    cases: int
    ignored: int
    receipts: Counter[str]  # outbox status of the receipts of the fault's mails
    during: Counter[str]  # the same, for the mails sent during the fault
    max_attempts: int


def check(stack: Stack, mails: list[Mail], during: list[Mail]) -> Verdict:
    """The checks every fault ends with; the figures come from the database and the sink."""
    mids = [m.mid for m in mails]
    with stack.engine.connect() as conn:
        stored = Counter(conn.execute(select(Inbound.message_id).where(
            Inbound.message_id.in_(mids))).scalars())
        statuses = dict(conn.execute(select(Inbound.message_id, Inbound.status).where(
            Inbound.message_id.in_(mids))).all())
        cases = Counter(conn.execute(select(Case.message_id).where(
            Case.message_id.in_(mids))).scalars())
        outbox = conn.execute(select(Outbox.recipient, Outbox.status, Outbox.attempts).where(
            Outbox.kind == "mottagningsbevis",
            Outbox.recipient.in_([m.sender for m in mails if m.citizen]))).all()
    citizens = {m.mid for m in mails if m.citizen}
    in_sink = sink_receipts(stack)
    # Every mail stored once; every citizen mail one case, every automatic one none.
    assert all(stored[mid] == 1 for mid in mids), stored
    assert Counter({mid: cases[mid] for mid in citizens}) == Counter(dict.fromkeys(citizens, 1))
    assert not [mid for mid in mids if mid not in citizens and cases[mid]]
    assert all(statuses[m.mid] == InboundStatus.IGNORED for m in mails if not m.citizen)
    # No recipient with two receipts; each sent row is one mail at the sink,
    # and a failed row none.
    senders = {m.sender.lower() for m in mails if m.citizen}
    assert max([in_sink[s] for s in senders] or [0]) <= 1, in_sink
    by_recipient = {r.recipient.lower(): r for r in outbox}
    assert len(outbox) == len(by_recipient) == len(citizens)
    for recipient, row in by_recipient.items():
        if row.status == OutboxStatus.SENT:
            assert in_sink[recipient] == 1, recipient
        elif row.status == OutboxStatus.FAILED:
            assert in_sink[recipient] == 0, recipient
    lost = (len([mid for mid in mids if not stored[mid]])
            + len([mid for mid in citizens if not cases[mid]])
            + len([r for r in outbox if r.status == OutboxStatus.SENT
                   and not in_sink[r.recipient.lower()]]))
    duplicates = sum(max(0, in_sink[s] - 1) for s in senders)
    during_senders = {m.sender.lower() for m in during if m.citizen}
    return Verdict(
        lost, duplicates, sum(cases.values()),
        sum(1 for s in statuses.values() if s == InboundStatus.IGNORED),
        Counter(str(r.status) for r in outbox),
        Counter(str(r.status) for r in outbox if r.recipient.lower() in during_senders),
        max([r.attempts for r in outbox] or [0]))


def alive(stack: Stack) -> str:
    dead = [" ".join(str(a) for a in list(p.args)[1:]) for p in stack.procs  # type: ignore[arg-type]
            if p.poll() is not None]
    return "all processes kept running" if not dead else f"exited: {', '.join(dead)}"


def log_count(stack: Stack, pattern: str) -> int:
    return sum(p.read_text(errors="replace").count(pattern) for p in stack.home.glob("*.log"))


def summary(v: Verdict, n: int) -> str:
    receipts = ", ".join(f"{k} {c}" for k, c in sorted(v.receipts.items()))
    during = ", ".join(f"{k} {c}" for k, c in sorted(v.during.items()))
    return (f"{n} mails: {v.cases} cases, {v.ignored} ignored; receipts {receipts} "
            f"(of those sent during the fault: {during}); at most {v.max_attempts} "
            f"SMTP attempts per receipt")


# ---------------------------------------------------------------------------
# the production path


@pytest.fixture
def private_pg() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.long(seconds=90)
def test_faults_on_the_production_path(tmp_path: Path, private_pg: PostgresServer) -> None:
    began = time.monotonic()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        with running_stack(tmp_path, private_pg.url(), redis.url(0), ENV) as stack:
            rows = _faults(stack, private_pg, redis)
    finally:
        redis.stop()
    write_table(rows)
    assert all(r.lost == 0 and r.duplicates == 0 for r in rows)
    print(f"faults: {time.monotonic() - began:.0f} s")


def _faults(stack: Stack, pg: PostgresServer, redis: RedisServer) -> list[Row]:
    stack.start("listener")
    workers = [stack.start("worker", "--threads", "4") for _ in range(2)]
    stack.start("scheduler")
    rows: list[Row] = []

    def phase(tag: str, fault: Callable[[list[Mail]], Did], automatic: int = 0) -> None:
        started = time.monotonic()
        before = make_mails(tag, "b", PER_SLOT)
        during = make_mails(tag, "d", PER_SLOT, automatic)
        after = make_mails(tag, "a", PER_SLOT)
        append_all(stack, before)
        wait_until(lambda: settled(stack, before), 120, stack, f"{tag}: mail before the fault")
        did = fault(during)
        append_all(stack, after)
        everything = before + during + after
        wait_until(lambda: settled(stack, everything), 90, stack, f"{tag}: settled")
        v = check(stack, everything, during)
        text = did() if callable(did) else did
        rows.append(Row(tag, f"{text}. {alive(stack)}. {summary(v, len(everything))}",
                        v.lost, v.duplicates))
        print(f"{time.monotonic() - started:5.1f} s {rows[-1]}")

    def postgres_down(during: list[Mail]) -> Did:
        rounds = log_count(stack, "listener reconnecting")
        stopped = time.monotonic()
        pg.stop()
        append_all(stack, during, spread=PG_OUTAGE - 2)
        time.sleep(max(0.0, PG_OUTAGE - (time.monotonic() - stopped)))
        outage = time.monotonic() - stopped
        pg.start()
        back = time.monotonic()
        stack.engine.dispose()  # the test's own connections died with the server
        wait_until(lambda: settled(stack, during), 90, stack, "stored after the outage")
        return (f"PostgreSQL away {outage:.0f} s; the mails that arrived meanwhile waited in "
                f"INBOX and were all stored and answered {time.monotonic() - back:.0f} s after "
                f"it came back ({log_count(stack, 'listener reconnecting') - rounds} listener "
                f"reconnect rounds, backoff capped at 4 s here)")

    def redis_restart(during: list[Mail]) -> Did:
        failed, swept = log_count(stack, "enqueue failed"), log_count(stack, "sweep re-enqueued")
        redis.stop()
        thread = in_background(lambda: append_all(stack, during, spread=2))
        time.sleep(2)
        redis.start()  # empty: what was queued is gone, the sweep re-enqueues it
        thread.join()
        return lambda: (
            f"Redis restarted empty: {log_count(stack, 'enqueue failed') - failed} enqueues "
            f"failed meanwhile, the scheduler's sweep put the rows back in the queue "
            f"({log_count(stack, 'sweep re-enqueued') - swept} sweeps)")

    def dovecot_restart(during: list[Mail]) -> Did:
        stack.dovecot.restart()
        append_all(stack, during)
        return "Dovecot restarted during IDLE; the listener reconnected"

    def smtp(code: int) -> Callable[[list[Mail]], Did]:
        def fault(during: list[Mail]) -> Did:
            stack.sink.set_reply(code)
            append_all(stack, during)
            senders = [m.sender for m in during if m.citizen]
            wait_until(lambda: attempted(stack, senders, final=code >= 500), 60, stack,
                       f"receipts tried against SMTP {code}")
            if code < 500:
                time.sleep(1.5)  # a retry meets the same answer
            stack.sink.set_reply(None)
            return (f"SMTP answered {code} to DATA; "
                    + ("the receipts were retried with backoff and delivered once after"
                       if code < 500 else "the receipts were marked failed at once, in "
                       f"`synpunkt outbox list --status failed` ({failed_listed(stack)} rows) "
                       "for a person to resend"))
        return fault

    def workers_killed(during: list[Mail]) -> Did:
        rng = random.Random(9)
        thread = in_background(lambda: append_all(stack, during, spread=KILL_LOOP - 2))
        kills = 0
        end = time.monotonic() + KILL_LOOP
        while time.monotonic() < end:
            time.sleep(rng.uniform(1.0, 2.0))
            i = rng.randrange(len(workers))
            workers[i] = stack.kill9_and_restart(workers[i])
            kills += 1
        thread.join()
        return f"a worker SIGKILLed and restarted {kills} times in {KILL_LOOP:.0f} s"

    phase("postgres-30s", postgres_down)
    phase("redis-restart", redis_restart, automatic=1)
    phase("dovecot-restart", dovecot_restart)
    phase("smtp-421", smtp(421))
    phase("smtp-451", smtp(451))
    phase("smtp-554", smtp(554))
    _resend_one_failed(stack, rows)
    phase("workers-killed", workers_killed)
    return rows


def failed_listed(stack: Stack) -> int:
    """The receipts `synpunkt outbox list --status failed` shows (its own query)."""
    with Session(stack.engine) as session:
        return sum(1 for r in list_outbox(session, OutboxStatus.FAILED)
                   if r.kind == "mottagningsbevis")


def attempted(stack: Stack, recipients: list[str], final: bool) -> bool:
    with stack.engine.connect() as conn:
        rows = conn.execute(select(Outbox.status, Outbox.attempts).where(
            Outbox.kind == "mottagningsbevis", Outbox.recipient.in_(recipients))).all()
    if len(rows) < len(recipients):
        return False
    if final:
        return all(r.status == OutboxStatus.FAILED for r in rows)
    return all(r.attempts >= 1 for r in rows)


def _resend_one_failed(stack: Stack, rows: list[Row]) -> None:
    """A person resends one failed receipt (`synpunkt outbox resend`, as listed
    by `synpunkt outbox list --status failed`): it is delivered once."""
    with stack.engine.connect() as conn:
        target = conn.execute(select(Outbox.id, Outbox.recipient).where(
            Outbox.kind == "mottagningsbevis", Outbox.status == OutboxStatus.FAILED)
            .order_by(Outbox.id)).first()
    assert target is not None
    run_cli("outbox", "resend", str(target.id), "--by", "registrator@ekby.example",
            home=stack.home, env=stack.env)
    recipient = target.recipient.lower()
    wait_until(lambda: sink_receipts(stack)[recipient] == 1, 30, stack, "the resent receipt")
    wait_until(lambda: settled(stack, []), 30, stack, "the resend settled")
    last = rows[-1]
    rows[-1] = Row(last.fault, f"{last.did}. `synpunkt outbox resend` of one by a person: "
                   f"delivered {sink_receipts(stack)[recipient]} time", last.lost,
                   last.duplicates)
