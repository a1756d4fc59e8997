"""What one mail costs a worker, in-process on one thread: CPU and wall time
of registering it (``process_inbound``) and of delivering its receipt and
notices (``deliver_many``), and the classifier's share, on PostgreSQL and a
real SMTP sink over loopback.

    .venv/bin/python benchmarks/worker_cpu.py [--mails 600] [--json]

The mails are the project's citizen fixtures with distinct senders (as in
load.py), stored first; 50 more warm the caches and load the model. The
reference of the run is a fixed pure-Python workload timed on the same
machine (best of 5): a mail's CPU in those units can be compared between
machines and days of different speed.
Progress goes to stderr. PostgreSQL: SYNPUNKT_TEST_POSTGRES_URL or
127.0.0.1:5432 (a database is created and dropped).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import _templates  # noqa: E402
from benchmarks.production import citizen_mail  # noqa: E402
from cases.inbound import store_raw  # noqa: E402
from cases.migrate import upgrade  # noqa: E402
from config.settings import Settings  # noqa: E402
from ingest.parse import parse  # noqa: E402
from notify import attempt  # noqa: E402
from tests.servers import SmtpSink, scratch_database  # noqa: E402
from workers.app import App, build_app  # noqa: E402
from workers.pipeline import process_inbound  # noqa: E402

WARMUP = 50
say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731


def measure(app: App, mails: int) -> dict[str, float]:
    templates = _templates()
    raws = [citizen_mail(i, templates) for i in range(mails + WARMUP)]
    with app.sessions.begin() as session:
        ids = [store_raw(session, "bench", f"k{i}", raw).inbound_id
               for i, raw in enumerate(raws)]
    for inbound_id in ids[:WARMUP]:
        _one(app, inbound_id)
    say(f"warmed up; {mails} mails …")
    wall = {"process": 0.0, "deliver": 0.0}
    cpu = {"process": 0.0, "deliver": 0.0}
    for n, inbound_id in enumerate(ids[WARMUP:], 1):
        for stage, took in _one(app, inbound_id).items():
            wall[stage] += took[0]
            cpu[stage] += took[1]
        if n % 100 == 0:
            say(f"  {n}/{mails}")
    limits = app.settings.limits
    messages = [parse(raw, limits) for raw in raws[WARMUP:]]
    began = time.process_time()
    for message in messages:
        app.classifier.classify(message)  # type: ignore[arg-type]
    classify = time.process_time() - began
    unit = reference_seconds()
    per = 1000 / mails
    return {
        "mails": mails,
        "process_cpu_ms": round(cpu["process"] * per, 2),
        "process_wall_ms": round(wall["process"] * per, 2),
        "deliver_cpu_ms": round(cpu["deliver"] * per, 2),
        "deliver_wall_ms": round(wall["deliver"] * per, 2),
        "classifier_cpu_ms": round(classify * per, 2),
        "reference_ms": round(unit * 1000, 2),
        "mail_cpu_in_references": round((cpu["process"] + cpu["deliver"]) / mails / unit, 2),
    }


def reference_seconds() -> float:
    """CPU seconds of a fixed pure-Python workload (dicts, strings, integer
    arithmetic: what a worker's Python does), the best of five."""
    def work() -> int:
        table: dict[str, int] = {}
        for i in range(100_000):
            key = f"k{i % 997}"
            table[key] = table.get(key, 0) + i * 3 % 7
        return sum(table.values())

    best = float("inf")
    for _ in range(5):
        began = time.process_time()
        work()
        best = min(best, time.process_time() - began)
    return best


def _one(app: App, inbound_id: int) -> dict[str, tuple[float, float]]:
    w, c = time.perf_counter(), time.thread_time()
    outcome = process_inbound(app, inbound_id)
    w1, c1 = time.perf_counter(), time.thread_time()
    attempt.deliver_many(app.sessions, app.transports, list(outcome.outbox_ids), app.clock(),
                         app.delivery_policy)
    w2, c2 = time.perf_counter(), time.thread_time()
    return {"process": (w1 - w, c1 - c), "deliver": (w2 - w1, c2 - c1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=600, help="mails measured")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    server = os.environ.get("SYNPUNKT_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    tmp = Path(tempfile.mkdtemp(prefix="synpunkt-cpu-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        url = stack.enter_context(scratch_database(server, "synpunkt_cpu"))
        sink = SmtpSink(tmp / "sink")
        sink.start()
        stack.callback(sink.stop)
        app = build_app(Settings(home=tmp / "home", database_url=url, smtp_url=sink.url()))
        stack.callback(app.engine.dispose)
        upgrade(app.engine)
        result = {"command": " ".join(["benchmarks/worker_cpu.py", *sys.argv[1:]]),
                  **measure(app, args.mails)}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
