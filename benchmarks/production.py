"""Benchmark of the production e-mail path on real servers over loopback.

    .venv/bin/python benchmarks/production.py [--mails 2000] [--singles 20] [--json]

1. Pre-loads N mails into a private Dovecot and measures the raw IMAP fetch
   rate of that mailbox (BODY.PEEK[] in batches of 50): the reference.
2. Starts `synpunkt listener`, two `synpunkt worker` processes and
   `synpunkt scheduler` against Dovecot, Redis, PostgreSQL and an SMTP sink,
   and measures mails/s from mailbox to registered case with its receipt
   delivered. The figure is the ratio to the raw fetch rate.
3. Peak memory (VmHWM) of each process.
4. Arrival-to-receipt latency of single mails APPENDed during IDLE, p50/p95.

PostgreSQL: SYNPUNKT_TEST_POSTGRES_URL or 127.0.0.1:5432 (a database is
created and dropped); Redis: SYNPUNKT_TEST_REDIS_URL, the local one, or a
private one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from cases.models import Inbound, InboundStatus, Outbox, OutboxStatus  # noqa: E402
from tests.harness.dovecot import Dovecot  # noqa: E402
from tests.harness.postgres import scratch_database  # noqa: E402
from tests.harness.redis_server import RedisServer, redis_url  # noqa: E402
from tests.stack import PASSWORD, USER, running_stack  # noqa: E402
from tests.support import FIXTURES, manifest  # noqa: E402


def citizen_mail(i: int, templates: list[tuple[str, bytes]]) -> bytes:
    sender, raw = templates[i % len(templates)]
    raw = raw.replace(sender.encode(), f"bench{i}@example.se".encode())
    return re.sub(rb"(?im)^Message-ID:[^\n]*", f"Message-ID: <bench{i}@example.se>".encode(),
                  raw, count=1)


def raw_fetch_rate(dovecot: Dovecot, n: int) -> float:
    with dovecot.session(USER, PASSWORD) as client:
        client.select_folder("INBOX", readonly=True)
        started = time.perf_counter()
        uids = client.search(["ALL"])
        got = 0
        for i in range(0, len(uids), 50):
            got += len(client.fetch(uids[i:i + 50], ["BODY.PEEK[]"]))
        elapsed = time.perf_counter() - started
    assert got == n, (got, n)
    return n / elapsed


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    templates = [(e["sender"], (FIXTURES / e["file"]).read_bytes())
                 for e in manifest() if e["expect"] == "case" and e["sender"]]

    server = os.environ.get("SYNPUNKT_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    databases = contextlib.ExitStack()
    pg = databases.enter_context(scratch_database(server, "synpunkt_bench"))
    tmp = Path(tempfile.mkdtemp(prefix="synpunkt-bench-"))
    private_redis = None
    redis = redis_url()
    if redis is None:
        private_redis = RedisServer(tmp / "redis")
        private_redis.start()
        redis = private_redis.url(0)
    result: dict[str, object] = {"mails": args.mails}
    try:
        with running_stack(tmp, pg, redis) as stack:
            progress = sys.stderr
            print(f"APPEND {args.mails} mails …", file=progress)
            for i in range(args.mails):
                stack.dovecot.append(USER, PASSWORD, citizen_mail(i, templates))
            raw_rate = raw_fetch_rate(stack.dovecot, args.mails)
            print(f"raw IMAP fetch: {raw_rate:.0f} mails/s", file=progress)

            started = time.perf_counter()
            procs = [stack.start("listener"), stack.start("worker", "--threads", "4"),
                     stack.start("worker", "--threads", "4"), stack.start("scheduler")]
            while True:
                with stack.engine.connect() as conn:
                    sent = conn.execute(select(func.count()).where(
                        Outbox.status == OutboxStatus.SENT,
                        Outbox.kind == "mottagningsbevis")).scalar_one()
                    waiting = conn.execute(select(func.count()).where(
                        Inbound.status == InboundStatus.RECEIVED)).scalar_one()
                if sent >= args.mails and waiting == 0:
                    break
                if time.perf_counter() - started > 1800:
                    raise SystemExit("benchmark did not finish in 30 minutes")
                if int(time.perf_counter() - started) % 5 == 0:
                    print(f"  {sent}/{args.mails} receipts delivered", file=progress)
                time.sleep(1.0)
            elapsed = time.perf_counter() - started
            rate = args.mails / elapsed
            print(f"pipeline: {rate:.1f} mails/s ({elapsed:.1f} s)", file=progress)

            latencies = []
            for i in range(args.singles):
                before = len(stack.sink.messages())
                time.sleep(0.5)  # let the listener settle back into IDLE
                t0 = time.perf_counter()
                stack.dovecot.append(USER, PASSWORD, citizen_mail(args.mails + i, templates))
                while len(stack.sink.messages()) <= before:
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - t0)
            latencies.sort()
            roles = ["listener", "worker 1", "worker 2", "scheduler"]
            result |= {
                "raw_fetch_per_s": round(raw_rate, 1),
                "pipeline_per_s": round(rate, 1),
                "ratio": round(rate / raw_rate, 3),
                "drain_seconds": round(elapsed, 1),
                "peak_rss_mib": {r: round(peak_kib(p.pid) / 1024, 1) for r, p in zip(roles, procs,
                                                                                      strict=True)},
                "latency_p50_s": round(statistics.median(latencies), 3),
                "latency_p95_s": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 3),
                "latency_max_s": round(latencies[-1], 3),
            }
    finally:
        if private_redis:
            private_redis.stop()
        databases.close()
    if args.json:
        print(json.dumps(result))
        return
    print(f"""
mails                              {result['mails']}
raw IMAP fetch (reference)         {result['raw_fetch_per_s']} mails/s
mailbox -> case + receipt          {result['pipeline_per_s']} mails/s ({result['drain_seconds']} s)
ratio                              {result['ratio']}
peak memory (MiB)                  {result['peak_rss_mib']}
arrival -> receipt during IDLE     p50 {result['latency_p50_s']} s, \
p95 {result['latency_p95_s']} s, max {result['latency_max_s']} s""")


if __name__ == "__main__":
    main()
