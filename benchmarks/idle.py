"""What Synpunkt's production processes cost while no mail comes.

    .venv/bin/python benchmarks/idle.py [--seconds 60] [--json]

A kommun's mailbox is quiet most of the day: what the processes spend then
is spent all day. On profile_mail.py's stack (private Dovecot, Redis and
SMTP sink; a scratch database on the machine's PostgreSQL), the listener,
the scheduler and two workers × 4 threads start with the settings' own
intervals (the sweep, the heartbeats, the workers' poll); after 20 s of
start-up (the model loaded), CPU per process and server is read from /proc
over --seconds with no mail, in milliseconds a second (10 ms a second is 1 %
of a core), with the commands Redis ran a second. PostgreSQL:
SYNPUNKT_TEST_POSTGRES_URL or 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402

from benchmarks.procstat import CpuMeter  # noqa: E402
from benchmarks.stackup import private_stack  # noqa: E402
from config.settings import Settings  # noqa: E402

START_UP_S = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="how long to measure")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    # the tests' stack sweeps every second; here the setting's default
    env = {"SYNPUNKT_SWEEP_SECONDS": str(Settings().sweep_seconds)}
    with private_stack("idle", env) as (stack, redis, _):
        procs = {"listener": stack.start("listener"), "scheduler": stack.start("scheduler"),
                 "worker 1": stack.start("worker"), "worker 2": stack.start("worker")}
        print(f"start-up: {START_UP_S} s; then {args.seconds} s without mail …",
              file=sys.stderr, flush=True)
        time.sleep(START_UP_S)
        meter = CpuMeter({**{k: p.pid for k, p in procs.items()}, "redis": redis.pid or 0,
                          "dovecot": stack.dovecot.pid or 0, "smtp sink": stack.sink.pid or 0},
                         {"postgres": "postgres"})
        client = Redis.from_url(redis.url(0))
        commands = int(client.info("stats")["total_commands_processed"])
        time.sleep(args.seconds)
        per_second = meter.take(args.seconds)  # "per mail" of one mail a second
        commands = int(client.info("stats")["total_commands_processed"]) - commands - 1
        client.close()
    per_second.pop("steal", None)
    result = {"command": " ".join(["benchmarks/idle.py", *sys.argv[1:]]), "commit": commit,
              "seconds": args.seconds, "cpu_ms_per_s": per_second,
              "redis_commands_per_s": round(commands / args.seconds, 1)}
    if args.json:
        print(json.dumps(result))
        return
    print(f"commit {commit}, {args.seconds} s without mail: CPU in ms a second")
    for label, ms in sorted(per_second.items(), key=lambda kv: -kv[1]):
        print(f"  {label:12} {ms:6.1f}")
    print(f"  Redis ran {result['redis_commands_per_s']} commands a second")


if __name__ == "__main__":
    main()
