"""Crash trials of the production path at volume: what a citizen would
notice after many SIGKILLs of the listener and the workers, a Dovecot crash
during IDLE, Redis stopping and SMTP 451s, with every setting at its default.

    .venv/bin/python benchmarks/crash.py [--trials 4] [--mails 1050] [--rounds 40] [--json]

Each trial starts a private Dovecot, SMTP sink and Redis and a scratch
PostgreSQL database, runs ``tests/chaos.py`` (90 % citizen mails, 10 %
automatic ones) and prints per trial: the faults, mails lost, cases twice,
citizens with two receipts, notices twice, citizens without a receipt,
and receipts left ``uncertain`` (a worker killed between the end of DATA
and its commit), with the uncertain rate per 1,000 receipts over all trials.
Progress goes to stderr. PostgreSQL: SYNPUNKT_TEST_POSTGRES_URL or
127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import chaos
from tests.harness.postgres import scratch_database
from tests.harness.redis_server import RedisServer
from tests.stack import running_stack

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def trial(n: int, mails: int, rounds: int, pg_url: str) -> dict[str, object]:
    citizens = mails * 9 // 10
    items = chaos.mails(citizens=citizens, automatic=mails - citizens, seed=n)
    with tempfile.TemporaryDirectory(prefix="synpunkt-crash-") as tmp, \
            scratch_database(pg_url, "crash") as url:
        root = Path(tmp)
        redis = RedisServer(root / "redis")
        redis.start()
        began = time.monotonic()
        try:
            with running_stack(root, url, redis.url(0), {"SYNPUNKT_SWEEP_SECONDS": "30"}) as st:
                # the feed spread over the rounds, so that faults meet mail in flight
                pause = max(0.0, rounds * 0.7 / mails - 0.01)
                faults = chaos.run(st, redis, items, random.Random(1000 + n), rounds, pause)
                chaos.settle(st, items, 900)
                result = chaos.outcome(st, items)
        finally:
            redis.stop()
    return {"trial": n, "seconds": round(time.monotonic() - began, 1),
            "faults": dict(faults), **asdict(result)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--mails", type=int, default=1050)
    parser.add_argument("--rounds", type=int, default=40, help="fault rounds per trial")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    pg_url = os.environ.get("SYNPUNKT_TEST_POSTGRES_URL", DEFAULT_PG)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    trials = []
    for n in range(1, args.trials + 1):
        print(f"trial {n}/{args.trials}: {args.mails} mails, {args.rounds} rounds",
              file=sys.stderr)
        trials.append(trial(n, args.mails, args.rounds, pg_url))
        print(f"  {trials[-1]}", file=sys.stderr)
    receipts = sum(int(t["sent"]) + int(t["uncertain"]) for t in trials)  # type: ignore[call-overload]
    uncertain = sum(int(t["uncertain"]) for t in trials)  # type: ignore[call-overload]
    faults = sum(sum(t["faults"].values()) for t in trials)  # type: ignore[attr-defined]
    summary = {"commit": commit, "trials": trials, "faults": faults, "receipts": receipts,
               "uncertain": uncertain,
               "uncertain_per_1000": round(1000 * uncertain / max(receipts, 1), 2)}
    if args.json:
        print(json.dumps(summary))
        return 0
    keys = ["lost", "duplicate_cases", "citizens_receipted_twice", "notices_twice",
            "without_receipt", "uncertain"]
    print(f"commit {commit}: {len(trials)} trials, {faults} faults, {receipts} receipts")
    print("trial  " + "  ".join(keys) + "  seconds")
    for t in trials:
        print(f"{t['trial']:>5}  " + "  ".join(f"{t[k]:>{len(k)}}" for k in keys)
              + f"  {t['seconds']:>7}")
    print(f"uncertain: {uncertain} of {receipts} receipts "
          f"({summary['uncertain_per_1000']} per 1,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
