"""The production path end to end, on real servers over loopback: a private
Dovecot, an SMTP sink, Redis, PostgreSQL; `synpunkt listener`, two
`synpunkt worker` processes and `synpunkt scheduler` as separate processes."""

from __future__ import annotations

import json
import re
import time

from sqlalchemy import func, select

from cases.models import Case, Contact, Heartbeat, InboundStatus, OutboxStatus
from tests.stack import (
    PASSWORD,
    USER,
    Stack,
    citizen_mails,
    counts,
    outbox_statuses,
    receipts,
    stack,
    wait_until,
)
from tests.support import manifest, run_cli

__all__ = ["stack"]


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
    with stack.engine.connect() as conn:  # (a mail without a sender: a case, no receipt)
        n_cases = conn.execute(select(func.count(Contact.id)).where(
            Contact.email.is_not(None))).scalar_one()
    wait_until(lambda: outbox_statuses(stack.engine) == {OutboxStatus.SENT: n_cases},
               120, stack, "every receipt delivered")
    wait_until(lambda: set(outbox_statuses(stack.engine, kind=None)) == {OutboxStatus.SENT},
               60, stack, "every notice to a chef delivered too")

    entries = {e["file"]: e for e in manifest()}
    citizens = {e["sender"] for e in entries.values() if e["expect"] == "case" and e["sender"]}
    citizens |= {f"medborgare{i}@example.se" for i in range(60 - 38)}
    automatic = {e["sender"] for e in entries.values()
                 if e["expect"] in ("ignored", "quarantined") and e["sender"]}
    assert n_cases == len(citizens)
    received = receipts(stack.sink.messages())
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
    before = len(receipts(stack.sink.messages()))
    raw = mails[0][1].replace(b"birgitta.holm@example.se", b"ny.medborgare@example.se")
    raw = re.sub(rb"(?im)^Message-ID:[^\n]*", b"Message-ID: <idle1@example.se>", raw, count=1)
    started = time.monotonic()
    stack.dovecot.append(USER, PASSWORD, raw)
    wait_until(lambda: len(receipts(stack.sink.messages())) > before, 30, stack,
               "receipt during IDLE")
    assert time.monotonic() - started < 10

    assert stack.stop_all() == [0, 0, 0, 0], stack.logs()


def test_run_once_against_imap_and_smtp(stack: Stack) -> None:
    """`synpunkt run --once` with server URLs: the IMAP mailbox in, SMTP out."""
    mails = citizen_mails()[:10]
    for _name, raw in mails:
        stack.dovecot.append(USER, PASSWORD, raw)
    out = run_cli("run", "--once", "--json", home=stack.home, env=stack.env).stdout
    summary = json.loads(out)
    assert summary["stored"] == 10
    assert summary["cases"] + summary["ignored"] + summary["quarantined"] == 10
    assert summary["delivered"] == len(stack.sink.messages())
    assert summary["cases"] == len(receipts(stack.sink.messages()))
    assert stack.dovecot.count(USER, PASSWORD, "INBOX") == 0
    again = json.loads(run_cli("run", "--once", "--json", home=stack.home, env=stack.env).stdout)
    assert again["stored"] == again["delivered"] == 0


def test_run_all_in_one_process_with_redis(stack: Stack) -> None:
    """`synpunkt run` with SYNPUNKT_REDIS_URL: listener, worker and scheduler in one process."""
    mails = citizen_mails()[:12]
    for _name, raw in mails[:6]:
        stack.dovecot.append(USER, PASSWORD, raw)
    stack.start("run")
    wait_until(lambda: sum(counts(stack.engine).values()) == 6, 60, stack, "first six stored")
    for _name, raw in mails[6:]:  # and more while it idles
        stack.dovecot.append(USER, PASSWORD, raw)
    wait_until(lambda: sum(counts(stack.engine).values()) == 12
               and counts(stack.engine).get(InboundStatus.RECEIVED, 0) == 0, 60, stack,
               "all twelve processed")
    with stack.engine.connect() as conn:
        n_cases = conn.execute(select(func.count(Case.id))).scalar_one()
    wait_until(lambda: outbox_statuses(stack.engine) == {OutboxStatus.SENT: n_cases}, 60, stack,
               "receipts delivered")
    assert len(receipts(stack.sink.messages())) == n_cases
    assert stack.stop_all() == [0]
    with stack.engine.connect() as conn:
        beats = conn.execute(select(Heartbeat.role, Heartbeat.process_id, Heartbeat.state)).all()
    assert {role for role, _p, _s in beats} == {"listener", "worker", "scheduler"}
    assert len({process for _r, process, _s in beats}) == 1  # one process, three loops
    assert {state for _r, _p, state in beats} == {"stopped"}
