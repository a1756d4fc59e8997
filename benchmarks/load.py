"""Load benchmark of the production e-mail path: a large backlog drained, then
a sustained arrival rate, on real servers over loopback.

    .venv/bin/python benchmarks/load.py [--backlog 20000] [--rate 50] [--minutes 10]
        [--workers 2] [--worker-threads 4] [--json]

(a) Backlog. N mails are written straight into a private Dovecot's Maildir
    (APPEND would take longer than the drain) and Dovecot indexes them. The
    raw IMAP fetch rate of that mailbox (BODY.PEEK[] in batches of 50) is the
    reference of this run. Then `synpunkt listener`, `synpunkt scheduler` and
    --workers `synpunkt worker` processes (2, --worker-threads 4 each) drain
    it: time, mails/s, receipts delivered, ratio to the reference.
(b) Sustained. A feeder APPENDs citizen mails at --rate per second for
    --minutes: the achieved rate, the backlog (APPENDed but no receipt yet)
    every 10 s, arrival -> receipt latency p50/p95 (APPEND returned -> the
    sink accepted the receipt), and the RSS of every process every 10 s. The
    memory verdict compares the RSS at the end with the RSS after warm-up
    (--margin, default 10 %) and gives the least-squares slope in MiB/min.
    Also the rate answered during the feed, and at the end of the run how
    many citizens were sent more than one mail (only the mottagningsbevis
    goes to them here).

Progress lines go to stderr. PostgreSQL: SYNPUNKT_TEST_POSTGRES_URL or
127.0.0.1:5432 (a database is created and dropped); Redis and Dovecot are
private instances.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402

from benchmarks.procstat import CpuMeter, rss_mib, summed  # noqa: E402
from benchmarks.production import citizen_mail, raw_fetch_rate  # noqa: E402
from cases.models import Inbound, InboundStatus, Outbox  # noqa: E402
from tests.harness.dovecot import Dovecot  # noqa: E402
from tests.harness.postgres import scratch_database  # noqa: E402
from tests.harness.redis_server import RedisServer  # noqa: E402
from tests.harness.smtp import SmtpSink  # noqa: E402
from tests.harness.smtp_sink import ARRIVALS  # noqa: E402
from tests.stack import PASSWORD, USER, Stack, running_stack  # noqa: E402
from tests.support import FIXTURES, manifest  # noqa: E402

SENDER = re.compile(r"^bench(\d+)@example\.se$")
say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731


def preload_maildir(dovecot: Dovecot, mails: list[bytes]) -> None:
    """Deliver mails the way an MTA does (write in tmp/, rename into new/),
    owned by the user Dovecot runs as; then one SELECT lets Dovecot index them."""
    user, domain = USER.split("@")
    maildir = dovecot.dir / "mail" / domain / user / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    for i, raw in enumerate(mails):
        name = f"{int(time.time())}.M{i}P{os.getpid()}.{host}"
        (maildir / "tmp" / name).write_bytes(raw)
        os.rename(maildir / "tmp" / name, maildir / "new" / name)
    dovecot._own(dovecot.dir / "mail")  # the helper's own chown
    with dovecot.session(USER, PASSWORD) as client:
        client.select_folder("INBOX", readonly=True)


@dataclass
class Receipts:
    """Follows the sink's arrivals: when each citizen's receipt was accepted."""

    sink: SmtpSink
    offset: int = 0
    at: dict[int, float] = field(default_factory=dict)  # mail number -> accepted (epoch s)
    count: Counter[int] = field(default_factory=Counter)  # mail number -> receipts accepted

    def refresh(self) -> int:
        # Only what the sink appended since the last call: this runs every
        # 2 s for up to 50,000 mails, on the cores the measured stack uses.
        try:
            with open(self.sink.messages_dir / ARRIVALS, "rb") as fh:
                fh.seek(self.offset)
                fresh = fh.read()
        except FileNotFoundError:
            return len(self.at)
        whole = fresh[:fresh.rfind(b"\n") + 1]  # a line being written: next round
        self.offset += len(whole)
        for line in whole.splitlines():
            arrival = json.loads(line)
            at = int(arrival["name"].split("-")[0]) / 1e9
            for rcpt in arrival["rcpt_tos"]:
                found = SENDER.match(rcpt)
                if found:
                    number = int(found.group(1))
                    self.at[number] = min(at, self.at.get(number, at))
                    self.count[number] += 1
        return len(self.at)

    def more_than_once(self) -> int:
        """Citizens the sink accepted more than one mail for (in this
        benchmark the mottagningsbevis is the only mail they are sent)."""
        self.refresh()
        return sum(1 for n in self.count.values() if n > 1)


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) points, in MiB per minute."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return 0.0 if den == 0 else 60 * cov / den


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@dataclass(frozen=True)
class Workers:
    processes: int = 2
    threads: int = 4


def drain(stack: Stack, receipts: Receipts, n: int, workers: Workers,
          servers: dict[str, int]) -> dict[str, object]:
    say(f"(a) preloading {n} mails into the Maildir …")
    templates = _templates()
    preload_maildir(stack.dovecot, [citizen_mail(i, templates) for i in range(n)])
    reference = raw_fetch_rate(stack.dovecot, n)
    say(f"    raw IMAP fetch of the same mailbox: {reference:.0f} mails/s")
    started = time.monotonic()
    stack.start("listener")
    stack.start("scheduler")
    for _ in range(workers.processes):
        stack.start("worker", "--threads", str(workers.threads))
    whole, every = stack_meter(stack, servers), stack_meter(stack, servers)
    last = 0.0
    while receipts.refresh() < n or _received(stack) > 0:
        if time.monotonic() - started > 3 * 3600:
            raise RuntimeError("the backlog did not drain in 3 hours")
        if time.monotonic() - last >= 10:
            last = time.monotonic()
            say(f"    {time.monotonic() - started:6.0f} s  {len(receipts.at)}/{n} receipts  "
                + cpu_line(every.take(len(receipts.at))))
        time.sleep(1.0)
    elapsed = time.monotonic() - started
    rate = n / elapsed
    cpu = whole.take(len(receipts.at))
    say(f"    drained {n} in {elapsed:.0f} s: {rate:.1f} mails/s  {cpu_line(cpu)}")
    return {"mails": n, "seconds": round(elapsed, 1), "mails_per_s": round(rate, 1),
            "receipts": len(receipts.at), "raw_fetch_per_s": round(reference, 1),
            "ratio": round(rate / reference, 4), "cpu_ms_per_mail": cpu}


def stack_meter(stack: Stack, servers: dict[str, int], done: int = 0) -> CpuMeter:
    """CPU of every part of the stack: our processes, the servers (each with
    the children it started), this harness (feeder, sink reader) and the
    machine's PostgreSQL (its processes, idle but for us)."""
    groups = {**synpunkt_pids(stack), "dovecot": stack.dovecot.pid or 0, **servers,
              "harness": os.getpgrp()}
    return CpuMeter(groups, {"postgres": "postgres"}, done)


def synpunkt_pids(stack: Stack) -> dict[str, int]:
    """Our processes by name, in the order the drain starts them; each leads
    its own process group."""
    return {"listener": stack.procs[0].pid, "scheduler": stack.procs[1].pid,
            **{f"worker {i}": p.pid for i, p in enumerate(stack.procs[2:], 1)}}


def cpu_line(per_mail: dict[str, float]) -> str:
    """The CPU milliseconds per mail of the stack's parts, in one line: the
    total is what the machine spent (``other`` included); what the
    hypervisor stole comes after it."""
    if not per_mail:
        return ""
    parts = {"workers": summed(per_mail, "worker "),
             **{k: v for k, v in per_mail.items() if not k.startswith("worker ")}}
    steal = parts.pop("steal", 0.0)
    total = round(sum(parts.values()), 1)
    return f"cpu ms/mail {total}: " + " ".join(
        f"{k}={v}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])) + f" (steal {steal})"


def _templates() -> list[tuple[str, bytes]]:
    return [(e["sender"], (FIXTURES / e["file"]).read_bytes())
            for e in manifest() if e["expect"] == "case" and e["sender"]]


def _received(stack: Stack) -> int:
    with stack.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(
            Inbound.status == InboundStatus.RECEIVED)).scalar_one())


class Feeder(threading.Thread):
    """APPENDs mail number first, first+1, … at ``rate`` per second over one
    IMAP connection, recording when each APPEND returned."""

    def __init__(self, dovecot: Dovecot, first: int, rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.dovecot, self.first, self.rate, self.seconds = dovecot, first, rate, seconds
        self.appended: dict[int, float] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        templates = _templates()
        try:
            client = self.dovecot.client(USER, PASSWORD)
            began = time.monotonic()
            i = 0
            while True:
                due = began + i / self.rate
                if due - began >= self.seconds:
                    break
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                number = self.first + i
                client.append("INBOX", citizen_mail(number, templates))
                self.appended[number] = time.time()
                i += 1
            self.elapsed = time.monotonic() - began
            client.logout()
        except BaseException as exc:  # reported by the main thread
            self.error = exc


def sustained(stack: Stack, receipts: Receipts, first: int, rate: float, minutes: float,
              margin: float, settle: float, extra_pids: dict[str, int]) -> dict[str, object]:
    seconds = minutes * 60
    warmup = min(60.0, seconds / 4)
    pids = {**synpunkt_pids(stack), **extra_pids}
    say(f"(b) {rate:g} mails/s for {minutes:g} min (warm-up {warmup:.0f} s) …")
    feeder = Feeder(stack.dovecot, first, rate, seconds)
    answered = receipts.refresh()
    whole = stack_meter(stack, extra_pids, answered)  # the phase as a whole
    every = stack_meter(stack, extra_pids, answered)  # every 10 s
    started = time.monotonic()
    feeder.start()
    samples: list[dict[str, object]] = []
    rss: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
    next_sample = started
    while feeder.is_alive() or _pending(feeder, receipts):
        now = time.monotonic()
        if now >= next_sample:
            next_sample += 10
            at = now - started
            done = receipts.refresh()
            fed = feeder.appended.copy()  # the feeder adds to it meanwhile
            appended = len(fed)
            delivered = sum(1 for k in fed if k in receipts.at)
            for name, pid in pids.items():
                rss[name].append((at, rss_mib(pid)))
            cpu = every.take(done)
            samples.append({"t": round(at), "appended": appended, "receipts": delivered,
                            "backlog": appended - delivered, "cpu_ms_per_mail": cpu})
            say(f"    {at:5.0f} s  appended {appended}  receipts {delivered}  backlog "
                f"{appended - delivered}  rss " + " ".join(
                    f"{n}={v[-1][1]:.0f}" for n, v in rss.items()) + f"  (all: {done})")
            say(f"             {cpu_line(cpu)}")
        if feeder.error is not None:
            raise RuntimeError(f"the feeder failed: {feeder.error!r}")
        if now - started > seconds + settle:
            say(f"    receipts still missing {settle:.0f} s after the feeder stopped")
            break
        time.sleep(2.0)
    latencies = [receipts.at[k] - t for k, t in feeder.appended.items() if k in receipts.at]
    missing = sorted(k for k in feeder.appended if k not in receipts.at)
    fed_until = max(feeder.appended.values(), default=0.0)  # the last APPEND (epoch s)
    answered_in_feed = sum(1 for k in feeder.appended
                           if k in receipts.at and receipts.at[k] <= fed_until)
    memory = {}
    for name, points in rss.items():
        after = [p for p in points if p[0] >= warmup and p[0] <= seconds] or points
        base, end = after[0][1], after[-1][1]
        memory[name] = {"after_warmup_mib": round(base, 1), "end_mib": round(end, 1),
                        "change_pct": round(100 * (end - base) / base, 1) if base else 0.0,
                        "slope_mib_per_min": round(slope_per_minute(after), 3),
                        "flat": abs(end - base) <= margin * base}
    backlogs = [int(str(s["backlog"])) for s in samples if float(str(s["t"])) <= seconds]
    return {
        "target_per_s": rate, "minutes": minutes,
        "appended": len(feeder.appended),
        "without_receipt_count": len(missing),
        "without_receipt": {str(k): fate(stack, k) for k in missing[:50]},
        "achieved_per_s": round(len(feeder.appended) / feeder.elapsed, 2),
        # fed mails whose receipt reached the sink before the last APPEND
        "answered_during_feed_per_s": round(answered_in_feed / feeder.elapsed, 2),
        "backlog_max": max(backlogs, default=0),
        "backlog_at_end_of_feed": backlogs[-1] if backlogs else 0,
        # None: not drained within --settle-minutes (the rest is still being answered)
        "drained_after_feed_s": None if missing else round(
            time.monotonic() - started - feeder.elapsed, 1),
        "latency_p50_s": round(percentile(latencies, 0.5), 3),
        "latency_p95_s": round(percentile(latencies, 0.95), 3),
        "latency_max_s": round(max(latencies), 3),
        "cpu_ms_per_mail": whole.take(receipts.refresh()),
        "memory_margin_pct": round(100 * margin),
        "memory": memory, "samples": samples,
    }


def fate(stack: Stack, number: int) -> str:
    """What became of a mail whose receipt never reached the sink (from the database)."""
    with stack.engine.connect() as conn:
        row = conn.execute(select(Inbound.status, Inbound.reason, Inbound.case_id).where(
            Inbound.message_id == f"<bench{number}@example.se>")).one_or_none()
        if row is None:
            return "not stored"
        sent = conn.execute(select(Outbox.kind, Outbox.status, Outbox.last_error).where(
            Outbox.case_id == row.case_id)).all() if row.case_id else []
    return f"{row.status} {row.reason or ''} case={row.case_id} outbox={sent}"


def _pending(feeder: Feeder, receipts: Receipts) -> bool:
    receipts.refresh()
    return any(k not in receipts.at for k in feeder.appended.copy())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: benchmarks/load.py --backlog 500 --rate 20 --minutes 1")
    parser.add_argument("--backlog", type=int, default=20000, help="mails preloaded (a)")
    parser.add_argument("--rate", type=float, default=50.0, help="mails/s APPENDed (b)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of (b)")
    parser.add_argument("--margin", type=float, default=0.10,
                        help="RSS at the end within this share of the RSS after warm-up")
    parser.add_argument("--settle-minutes", type=float, default=10.0,
                        help="how long to wait for the last receipts after the feed stopped")
    parser.add_argument("--workers", type=int, default=2, help="synpunkt worker processes")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads in each")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    workers = Workers(args.workers, args.worker_threads)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))  # clean up the stack

    server = os.environ.get("SYNPUNKT_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    databases = contextlib.ExitStack()
    pg = databases.enter_context(scratch_database(server, "synpunkt_load"))
    tmp = Path(tempfile.mkdtemp(prefix="synpunkt-load-"))
    redis = RedisServer(tmp / "redis")
    redis.start()
    result: dict[str, object] = {"command": " ".join(["benchmarks/load.py", *sys.argv[1:]]),
                                 "workers": f"{workers.processes} x {workers.threads} threads",
                                 "cores": os.cpu_count(), "load_average_at_start":
                                 os.getloadavg()}
    result["postgres"] = server_settings(pg)
    try:
        with running_stack(tmp, pg, redis.url(0),
                           # the production sweep interval, not the tests' 1 s
                           {"SYNPUNKT_DELIVERY_RETRY_SECONDS": "5",
                            "SYNPUNKT_SWEEP_SECONDS": "30"}) as stack:
            receipts = Receipts(stack.sink)
            extra = {"redis": redis.pid or 0, "smtp sink": stack.sink.pid or 0}
            result["drain"] = drain(stack, receipts, args.backlog, workers, extra)
            say(f"    (a) {json.dumps(result['drain'])}")
            result["sustained"] = sustained(stack, receipts, args.backlog, args.rate,
                                            args.minutes, args.margin,
                                            60 * args.settle_minutes, extra)
            result["receipts_more_than_once"] = receipts.more_than_once()
            result["load_average_at_end"] = os.getloadavg()
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        databases.close()
    if args.json:
        print(json.dumps(result))
    else:
        print(report(result))


def server_settings(url: str) -> dict[str, str]:
    """What of the PostgreSQL server's configuration bears on the figures."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: str(conn.exec_driver_sql(f"SHOW {name}").scalar_one()) for name in
                    ("server_version", "autovacuum", "fsync", "synchronous_commit",
                     "shared_buffers")}
    finally:
        engine.dispose()


def report(result: dict[str, object]) -> str:
    d = result["drain"]
    s = result["sustained"]
    assert isinstance(d, dict)
    assert isinstance(s, dict)
    lines = [
        f"command                          {result['command']}",
        f"(a) backlog                      {d['mails']} mails, {d['receipts']} receipts",
        f"    drained in                   {d['seconds']} s = {d['mails_per_s']} mails/s",
        f"    raw IMAP fetch (reference)   {d['raw_fetch_per_s']} mails/s; ratio {d['ratio']}",
        f"    {cpu_line(d['cpu_ms_per_mail'])}",
        f"(b) target / achieved            {s['target_per_s']} / {s['achieved_per_s']} mails/s "
        f"for {s['minutes']} min ({s['appended']} mails)",
        f"    answered during the feed     {s['answered_during_feed_per_s']} mails/s",
        f"    without a receipt at the end {s['without_receipt_count']} (the first 50: "
        f"{s['without_receipt']})",
        f"    backlog max / at end of feed {s['backlog_max']} / {s['backlog_at_end_of_feed']}",
        f"    drained after the feed in    {s['drained_after_feed_s']} s",
        f"    arrival -> receipt           p50 {s['latency_p50_s']} s, p95 "
        f"{s['latency_p95_s']} s, max {s['latency_max_s']} s",
        f"    {cpu_line(s['cpu_ms_per_mail'])}",
        f"    memory (margin ±{s['memory_margin_pct']} %):",
    ]
    for proc, m in s["memory"].items():
        lines.append(f"      {proc:<12} {m['after_warmup_mib']:7.1f} -> {m['end_mib']:7.1f} MiB "
                     f"({m['change_pct']:+.1f} %, slope {m['slope_mib_per_min']:+.3f} MiB/min)"
                     f" {'flat' if m['flat'] else 'NOT flat'}")
    lines.append("    backlog every 10 s           "
                 + " ".join(str(x["backlog"]) for x in s["samples"]))
    lines.append(f"receipts sent more than once     {result['receipts_more_than_once']}")
    lines.append(f"PostgreSQL                       {result.get('postgres')}")
    lines.append(f"load average start / end        {result['load_average_at_start']} / "
                 f"{result['load_average_at_end']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
