"""A worker killed in the middle of sending a mottagningsbevis, on the
production path (listener, worker, scheduler, Dovecot, SMTP sink): before
the end of DATA the receipt is sent again by itself; after it, the row is
uncertain, `synpunkt health` says so, and the registrator decides."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from sqlalchemy import select

from cases.models import Event, Outbox, OutboxStatus
from tests.stack import PASSWORD, USER, Stack, citizen_mails, receipts, stack, wait_until
from tests.support import run_cli

__all__ = ["stack"]


def _receipt_row(stack: Stack) -> Outbox | None:
    with stack.engine.connect() as conn:
        row = conn.execute(select(Outbox).where(Outbox.kind == "mottagningsbevis")).first()
    return None if row is None else Outbox(**row._mapping)


def _kill(stack: Stack, proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    stack.procs.remove(proc)


def _one_citizen_mail(stack: Stack) -> None:
    raw = next(r for n, r in citizen_mails() if n.startswith("extra"))
    stack.dovecot.append(USER, PASSWORD, raw)


def test_killed_before_the_end_of_data_the_receipt_goes_out_by_itself(stack: Stack) -> None:
    stack.sink.hold("RCPT")  # the worker waits for the server, before its point of no return
    stack.start("listener")
    worker = stack.start("worker", "--threads", "1")
    stack.start("scheduler")
    _one_citizen_mail(stack)
    wait_until(lambda: (row := _receipt_row(stack)) is not None
               and row.status == OutboxStatus.SENDING, 60, stack, "the receipt is being sent")
    row = _receipt_row(stack)
    assert row is not None and row.committed_at is None and row.claimed_by
    _kill(stack, worker)
    stack.sink.hold(None)
    stack.start("worker", "--threads", "1")  # its successor takes the dead one's place
    wait_until(lambda: (r := _receipt_row(stack)) is not None and r.status == OutboxStatus.SENT,
               90, stack, "the receipt sent after all")
    assert len(receipts(stack.sink.messages())) == 1
    with stack.engine.connect() as conn:
        kinds = conn.execute(select(Event.kind).where(Event.outbox_id == row.id)).scalars().all()
    assert "mottagningsbevis.released" in kinds


def test_killed_after_the_end_of_data_it_is_uncertain_until_a_person_decides(
        stack: Stack) -> None:
    stack.sink.hold("DATA")  # the server has the message; its answer is late
    stack.start("listener")
    worker = stack.start("worker", "--threads", "1")
    stack.start("scheduler")
    _one_citizen_mail(stack)
    wait_until(lambda: (row := _receipt_row(stack)) is not None
               and row.committed_at is not None, 60, stack, "past the end of DATA")
    _kill(stack, worker)
    stack.sink.hold(None)
    stack.start("worker", "--threads", "1")
    wait_until(lambda: (r := _receipt_row(stack)) is not None
               and r.status == OutboxStatus.UNCERTAIN, 90, stack, "the receipt uncertain")
    assert len(receipts(stack.sink.messages())) == 1  # it did arrive: never resent blindly

    proc = run_cli("health", "--json", home=stack.home, env=stack.env, check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["outbox"]["uncertain"] == 1
    row = _receipt_row(stack)
    assert row is not None
    run_cli("outbox", "arrived", str(row.id), "--by", "user:eva@ekby.example",
            home=stack.home, env=stack.env)
    proc = run_cli("health", "--json", home=stack.home, env=stack.env, check=False)
    assert json.loads(proc.stdout)["outbox"] == {"sending_past_lease": 0, "uncertain": 0}
    assert proc.returncode == 0, proc.stdout
    assert len(receipts(stack.sink.messages())) == 1
