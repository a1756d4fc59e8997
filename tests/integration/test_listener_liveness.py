"""The production listener (``synpunkt listener``, default settings) against
a Dovecot that dies during IDLE and a connection that goes silent, and
``synpunkt health`` against processes that stop and come back."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from cases.models import Heartbeat, Inbound
from ingest.imap import ANSWER_SECONDS
from tests.harness.tcp_proxy import SilentProxy
from tests.stack import PASSWORD, USER, Stack, citizen_mails, stack, wait_until
from tests.support import run_cli
from workers.listener import ListenerSettings

__all__ = ["stack"]  # the fixture

IDLE_SECONDS = ListenerSettings().idle_seconds  # the default, as users run it
# How often the test asks `synpunkt health`, as a monitor would (each ask
# costs a process start); within the two minutes the test allows, often enough.
HEALTH_EVERY = 6.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored(stack: Stack) -> int:
    with stack.engine.connect() as conn:
        return conn.execute(select(func.count(Inbound.id))).scalar_one()


def listener_state(stack: Stack) -> str | None:
    with stack.engine.connect() as conn:
        return conn.execute(select(Heartbeat.state).where(Heartbeat.role == "listener")
                            .order_by(Heartbeat.started_at.desc())).scalars().first()


def timed(predicate: Callable[[], bool], timeout: float, stack: Stack, what: str,
          every: float = 0.2) -> float:
    began = time.monotonic()
    wait_until(predicate, timeout, stack, what, every)
    return time.monotonic() - began


def test_dovecot_killed_during_idle_is_heard_at_once(stack: Stack) -> None:
    listener = stack.start("listener")
    wait_until(lambda: listener_state(stack) == "idle", 60, stack, "the listener idles")
    time.sleep(2)  # well inside its IDLE
    cpu_before, began = cpu_seconds(listener.pid), time.monotonic()
    stack.dovecot.kill9()  # no BYE: the socket just ends
    time.sleep(3)  # down a while: a listener that did not notice would spin here
    stack.dovecot.start()
    stack.dovecot.append(USER, PASSWORD, citizen_mails()[0][1])
    took = timed(lambda: stored(stack) == 1, 10, stack, "the mail stored within 10 s")
    share = (cpu_seconds(listener.pid) - cpu_before) / (time.monotonic() - began)
    print(f"stored {took:.1f} s after the append; listener CPU {share:.1%} of a core")
    assert share < 0.10


@pytest.mark.long(seconds=150)
def test_a_connection_gone_silent_is_found_within_the_idle_period(stack: Stack) -> None:
    """Something in between forgets the connection, telling nobody (no FIN,
    no RST; TCP keepalive is answered by the proxy's kernel). Only the
    answer to DONE at the IDLE re-issue can tell: found within the IDLE
    period plus ANSWER_SECONDS, then a new connection fetches the mail."""
    proxy = SilentProxy(stack.dovecot.port).start()
    try:
        stack.env["SYNPUNKT_IMAP_URL"] = stack.dovecot.url(USER, PASSWORD).replace(
            f":{stack.dovecot.port}/", f":{proxy.port}/")
        listener = stack.start("listener")
        wait_until(lambda: listener_state(stack) == "idle", 60, stack, "the listener idles")
        assert proxy.silence() == 1
        cpu_before, began = cpu_seconds(listener.pid), time.monotonic()
        stack.dovecot.append(USER, PASSWORD, citizen_mails()[0][1])  # beside the proxy
        bound = IDLE_SECONDS + ANSWER_SECONDS + 15  # the re-issue, its answer, a sync
        took = timed(lambda: stored(stack) == 1, bound, stack,
                     "the silent connection found and the mail stored")
        share = (cpu_seconds(listener.pid) - cpu_before) / (time.monotonic() - began)
        print(f"found and stored after {took:.0f} s (bound {bound:.0f} s); "
              f"listener CPU {share:.1%} of a core")
        assert proxy.accepted == 2  # the silent connection, and the one that replaced it
        assert share < 0.10
    finally:
        proxy.stop()


def health(stack: Stack) -> tuple[int, dict[str, object]]:
    proc = run_cli("health", "--json", home=stack.home, env=stack.env, check=False)
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.long(seconds=125)
def test_health_fails_within_two_minutes_of_a_stop_and_passes_when_all_is_back(
        stack: Stack) -> None:
    stack.start("listener")
    worker = stack.start("worker", "--threads", "2")
    stack.start("scheduler")
    wait_until(lambda: health(stack)[0] == 0, 90, stack, "health passes with all running",
               HEALTH_EVERY)

    os.killpg(worker.pid, 9)  # a worker crashes
    worker.wait(timeout=10)
    stack.procs.remove(worker)
    stack.dovecot.kill9()  # and the mail server goes away: the listener is deaf
    began = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < 2 and time.monotonic() - began < 150:
        code, report = health(stack)
        problems = [str(p) for p in report["problems"]]  # type: ignore[union-attr]
        for role, word in (("worker", "arbetaren"), ("listener", "lyssnaren")):
            if role not in seen and code == 1 and any(p.startswith(word) for p in problems):
                seen[role] = time.monotonic() - began
        time.sleep(HEALTH_EVERY)
    print("health failed after", {k: f"{v:.0f} s" for k, v in seen.items()})
    assert set(seen) == {"worker", "listener"}
    assert max(seen.values()) <= 120

    stack.dovecot.start()
    stack.start("worker", "--threads", "2")
    took = timed(lambda: health(stack)[0] == 0, 90, stack, "health passes again", HEALTH_EVERY)
    print(f"health passed again {took:.0f} s after the restarts")
