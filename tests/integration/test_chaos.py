"""Chaos on the production path, bounded in count and time, loopback only.

300 mails flow into Dovecot while, over 24 rounds, the listener or a worker
is killed with SIGKILL at random moments and restarted, Dovecot is killed
with SIGKILL during IDLE (and later restarted gracefully), Redis stops for
10 s, and the SMTP sink answers 451 for a while (``tests/chaos.py``). Every
setting is the default users run (IDLE re-issue, delivery lease,
heartbeats, retries, sweep), so a shortened timeout cannot hide what the
test should find. Afterwards: nothing lost, no duplicate case, receipt or
notice, every inbound row processed, and every citizen has a receipt unless
the row is ``uncertain`` (a worker killed between the end of DATA and its
commit); those are counted. `benchmarks/crash.py` runs the same at volume.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from tests import chaos
from tests.harness.redis_server import RedisServer
from tests.stack import PASSWORD, USER, running_stack

ROUNDS = 24


@pytest.mark.long(seconds=115)
def test_chaos(tmp_path: Path, postgres_url: str) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    env = {"SYNPUNKT_SWEEP_SECONDS": "30"}  # the default (the test stack's is 1 s)
    items = chaos.mails(citizens=270, automatic=30)
    try:
        with running_stack(tmp_path, postgres_url, redis.url(0), env) as stack:
            faults = chaos.run(stack, redis, items, random.Random(2026), ROUNDS)
            print("chaos:", dict(faults))
            chaos.settle(stack, items, 300)
            result = chaos.outcome(stack, items)
            assert stack.dovecot.count(USER, PASSWORD, "INBOX") == 0
            logs = "\n".join(p.read_text(errors="replace") for p in stack.home.glob("*.log"))
            # fetches of several mails, which the listener hands on in batches
            fetched = [int(n) for n in re.findall(r"listener stored .* count=(\d+)", logs)]
            taken = logs.count("ingest batch mails=")  # batches a worker lived to take up
    finally:
        redis.stop()
    print("outcome:", result, "fetches:", fetched, "batches taken up:", taken)
    assert any(n > 1 for n in fetched), "no batch was in flight under the chaos"
    assert (result.lost, result.unprocessed, result.unexpected_quarantine) == (0, 0, 0)
    assert result.cases == 270 and result.duplicate_cases == 0
    assert result.citizens_receipted_twice == 0 and result.notices_twice == 0
    # Every sent row reached the sink; an uncertain one may or may not have.
    assert result.sent <= result.receipts <= result.sent + result.uncertain
    # Every case's receipt left, or is honestly uncertain for a person: a
    # receipt whose worker died before the end of DATA went out by itself.
    assert result.without_receipt == 0
    # A worker killed between the end of DATA and the settlement leaves its
    # receipt uncertain: a chance per kill (0.054 at volume, benchmarks/crash.py;
    # more on a busy machine, whose pauses widen that window). Before issue 19
    # this run left about 6 of 270 uncertain; the bound allows one per six kills.
    assert result.uncertain <= 1 + faults["worker kill -9"] // 6
