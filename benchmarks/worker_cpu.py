"""What one mail costs a worker, in-process on one thread: CPU and wall time
of registering it (``process_inbound``) and of delivering its receipt and
notices (``deliver_many``), and the classifier's share, on PostgreSQL and a
real SMTP sink over loopback.

    .venv/bin/python benchmarks/worker_cpu.py [--mails 600] [--blocks 1] [--json]

The mails are the project's citizen fixtures with distinct senders (as in
load.py), stored first; 50 more warm the caches and load the model. The
reference of the run is a fixed pure-Python workload timed on the same
machine (best of 5): a mail's CPU in those units can be compared between
machines and days of different speed. With --blocks N the mails are measured
N times over (each block on a database that holds the blocks before it),
with the reference after each block: a cost that grows with the database
shows as a rising ratio, a machine that slows down as a rising reference.
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

from sqlalchemy import event  # noqa: E402

from benchmarks.load import _templates  # noqa: E402
from benchmarks.procstat import cpu_seconds  # noqa: E402
from benchmarks.production import citizen_mail  # noqa: E402
from cases.inbound import store_raw  # noqa: E402
from cases.migrate import upgrade  # noqa: E402
from config.settings import Settings  # noqa: E402
from ingest.parse import parse  # noqa: E402
from notify import sending  # noqa: E402
from service.app import App, build_app  # noqa: E402
from service.batch import prime, process_batch  # noqa: E402
from service.pipeline import Outcome, process_inbound  # noqa: E402
from tests.harness.postgres import scratch_database  # noqa: E402
from tests.harness.smtp import SmtpSink  # noqa: E402

WARMUP = 50
say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731


def measure(app: App, mails: int, first: int = 0, batch: int = 1) -> dict[str, float]:
    templates = _templates()
    warmup = WARMUP if first == 0 else 0
    raws = [citizen_mail(first + i, templates) for i in range(mails + warmup)]
    with app.sessions.begin() as session:
        ids = [store_raw(session, "bench", f"k{first + i}", raw).inbound_id
               for i, raw in enumerate(raws)]
    for inbound_id in ids[:warmup]:
        _one(app, [inbound_id])
    say(f"{first + warmup} mails in the database; {mails} mails …")
    wall = {"process": 0.0, "deliver": 0.0}
    cpu = {"process": 0.0, "deliver": 0.0}
    database = _postgres_seconds()
    statements = StatementCount(app)
    measured = ids[warmup:]
    for n in range(0, len(measured), batch):
        for stage, took in _one(app, measured[n:n + batch]).items():
            wall[stage] += took[0]
            cpu[stage] += took[1]
        if (n // batch + 1) % max(1, 100 // batch) == 0:
            say(f"  {n + batch}/{mails}")
    statements.stop()
    limits = app.settings.limits
    messages = [parse(raw, limits) for raw in raws[warmup:]]
    database = _postgres_seconds() - database
    getattr(app.classifier, "forget", lambda: None)()  # each classified anew, not as primed
    began = time.process_time()
    for message in messages:
        app.classifier.classify(message)  # type: ignore[arg-type]
    classify = time.process_time() - began
    unit = reference_seconds()
    per = 1000 / mails
    return {
        "mails": mails,
        "batch": batch,
        "statements_per_mail": round(statements.statements / mails, 2),
        "transactions_per_mail": round(statements.commits / mails, 2),
        "mails_in_database_before": first + warmup,
        "process_cpu_ms": round(cpu["process"] * per, 2),
        "process_wall_ms": round(wall["process"] * per, 2),
        "deliver_cpu_ms": round(cpu["deliver"] * per, 2),
        "deliver_wall_ms": round(wall["deliver"] * per, 2),
        "classifier_cpu_ms": round(classify * per, 2),
        # the machine's PostgreSQL processes: idle but for this run
        "postgres_cpu_ms": round(database * per, 2),
        "reference_ms": round(unit * 1000, 2),
        "mail_cpu_in_references": round((cpu["process"] + cpu["deliver"]) / mails / unit, 2),
    }


def _postgres_seconds() -> float:
    return cpu_seconds({}, {"postgres": "postgres"})["postgres"]


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


class StatementCount:
    """SQL statements (an executemany counts once) and commits on the app's engine."""

    def __init__(self, app: App) -> None:
        self.engine, self.statements, self.commits = app.engine, 0, 0
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)

    def _statement(self, *_: object) -> None:
        self.statements += 1

    def _commit(self, *_: object) -> None:
        self.commits += 1

    def stop(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)


def _one(app: App, inbound_ids: list[int]) -> dict[str, tuple[float, float]]:
    """One mail the single way, or a batch the workers' way (classified in
    one model call, then processed, then the batch's mail delivered)."""
    w, c = time.perf_counter(), time.thread_time()
    outcomes: list[Outcome] = []
    if len(inbound_ids) > 1:
        process_batch(app, inbound_ids, prime(app, inbound_ids), outcomes)
    else:
        outcomes.append(process_inbound(app, inbound_ids[0]))
    w1, c1 = time.perf_counter(), time.thread_time()
    sending.deliver_many(app.sessions, app.transports,
                         [i for o in outcomes for i in o.outbox_ids], app.clock(),
                         app.delivery_policy)
    w2, c2 = time.perf_counter(), time.thread_time()
    return {"process": (w1 - w, c1 - c), "deliver": (w2 - w1, c2 - c1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=600, help="mails measured")
    parser.add_argument("--blocks", type=int, default=1,
                        help="measure this many blocks of --mails, one after the other")
    parser.add_argument("--batch", type=int, default=1,
                        help="mails taken together, as a worker takes a batch (1: one by one)")
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
        command = " ".join(["benchmarks/worker_cpu.py", *sys.argv[1:]])
        blocks = []
        for block in range(args.blocks):
            blocks.append(measure(app, args.mails, block * args.mails + (WARMUP if block else 0),
                                  args.batch))
            if args.blocks > 1:
                say(f"  block {block + 1}/{args.blocks}: {json.dumps(blocks[-1])}")
    result: dict[str, object] = {"command": command, **blocks[0]} if args.blocks == 1 else {
        "command": command, "blocks": blocks}
    if args.json:
        print(json.dumps(result))
    elif args.blocks == 1:
        for key, value in result.items():
            print(f"{key:28} {value}")
    else:
        print(command)
        print("block  in db   mail CPU ms  PostgreSQL ms  reference ms  in references")
        for n, b in enumerate(blocks):
            print(f"{n + 1:5}  {b['mails_in_database_before']:6}  "
                  f"{b['process_cpu_ms'] + b['deliver_cpu_ms']:11.2f}  {b['postgres_cpu_ms']:13.2f}"
                  f"  {b['reference_ms']:12.2f}"
                  f"  {b['mail_cpu_in_references']:13.2f}")


if __name__ == "__main__":
    main()
