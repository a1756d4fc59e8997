"""Where a mail's CPU goes, process by process, servers included, and inside
Synpunkt's processes stage by stage (issue 25's first step).

    .venv/bin/python benchmarks/profile_mail.py [--mails 600] [--mode both] [--json]
    .venv/bin/python benchmarks/profile_mail.py --mode production --corpus DIR

``--corpus`` takes the mails from the side-by-side corpus instead of the
fixtures (``python3 ../shared/peers/django-helpdesk/make_corpus.py DIR``):
its ordinary citizen mails, in its order, each of which gets one receipt
(each sender's address made a fixture's, by which receipts are counted).
One mode at a time: the same Message-IDs a second time are duplicates.

On load.py's stack (private Dovecot, Redis, SMTP sink; a scratch database on
the machine's PostgreSQL), citizen fixtures with distinct senders go through
(a) ``synpunkt run --once`` (its CPU from the kernel at exit, less a pass over
an empty mailbox: start-up) and (b) listener, scheduler and two workers × 4
threads, warmed with --warm-mails mails first. CPU per process group from
/proc, from arrival to the last receipt and notice accepted; Redis
commands and mails sent per mail (transactions and statements a mail:
``worker_cpu.py``, which counts them in the process; PostgreSQL's own
counters are flushed late by idle pooled connections and undercount).
py-spy samples the GIL holder at 100 Hz; a sample's stage is its innermost
frame that names one (SQL from the outbox is SQL). PostgreSQL:
SYNPUNKT_TEST_POSTGRES_URL or 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks.load import Receipts, _received, _templates, preload_maildir, say  # noqa: E402
from benchmarks.procstat import CpuMeter  # noqa: E402
from benchmarks.production import citizen_mail  # noqa: E402
from benchmarks.pyspy_stages import PYSPY, profile, spy, stop_spies  # noqa: E402
from benchmarks.stackup import private_stack  # noqa: E402
from cases.models import Outbox, OutboxStatus  # noqa: E402
from tests.harness.smtp_sink import ARRIVALS  # noqa: E402
from tests.stack import Stack  # noqa: E402


def counts(stack: Stack, since: Counter[str] | None = None, n: int = 1) -> Counter[str]:
    """Commands Redis ran, mails the sink accepted; with ``since``, per
    mail since then."""
    redis = Redis.from_url(stack.env["SYNPUNKT_REDIS_URL"]).info("stats")
    arrivals = stack.sink.messages_dir / ARRIVALS
    now = Counter({"redis commands": int(redis["total_commands_processed"]),
                   "mails sent": arrivals.read_bytes().count(b"\n")})
    return now if since is None else Counter(
        {k: round((v - since[k]) / n, 2) for k, v in now.items()})


def wait_done(stack: Stack, receipts: Receipts, want: int, limit: float) -> None:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if receipts.refresh() >= want and _received(stack) == 0:
            with stack.engine.connect() as conn:
                if not conn.execute(select(func.count()).where(Outbox.status.in_(
                        [OutboxStatus.PENDING, OutboxStatus.SENDING]))).scalar_one():
                    return
        time.sleep(0.5)
    say(f"    not done after {limit:.0f} s: {len(receipts.at)}/{want} receipts")


def meter_of(stack: Stack, servers: dict[str, int], ours: dict[str, int]) -> CpuMeter:
    """Our processes (each leads its process group), the servers, this
    harness, and the machine's PostgreSQL (idle but for us)."""
    return CpuMeter({**ours, "dovecot": stack.dovecot.pid or 0, **servers,
                     "harness": os.getpgrp()}, {"postgres": "postgres"})


def the_mails(corpus: Path | None, first: int, n: int) -> list[bytes]:
    """``n`` mails: the corpus's from its first, or the fixtures' numbered from ``first``."""
    if corpus is None:
        return [citizen_mail(first + i, _templates()) for i in range(n)]
    manifest = json.loads((corpus / "manifest.json").read_text("utf-8"))
    ordinary = [m for m in manifest if m["category"] == "ordinary"]
    if len(ordinary) < n:
        raise SystemExit(f"{corpus} has {len(ordinary)} ordinary mails, not {n}")
    return [_from_bench(first + i, (corpus / m["file"]).read_bytes(), m["from_addr"])
            for i, m in enumerate(ordinary[:n])]


def _from_bench(number: int, raw: bytes, address: str) -> bytes:
    """The mail with its sender's address made the fixtures' ``bench<number>``:
    each mail its own sender, whose receipt ``Receipts`` finds by number."""
    head, blank, body = raw.partition(b"\r\n\r\n")
    return head.replace(address.encode(), f"bench{number}@example.se".encode()) + blank + body


def run_once(stack: Stack, tmp: Path, servers: dict[str, int], n: int,
             corpus: Path | None = None) -> dict[str, object]:
    def once(spied: Path | None) -> tuple[float, float, float]:
        """CPU seconds of run --once and of its py-spy; wall seconds."""
        proc = stack.start("run", "--once")
        spies = [spy(proc.pid, spied)] if spied else []
        began = time.monotonic()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - began
        spying = stop_spies(spies)
        if proc.returncode != 0:
            raise RuntimeError(f"run --once exited {proc.returncode}: {stack.logs()[-2000:]}")
        return usage.ru_utime + usage.ru_stime, spying, wall

    say("(a) run --once over an empty mailbox (start-up) …")
    startup = once(None)[0]
    preload_maildir(stack.dovecot, the_mails(corpus, 0, n))
    receipts = Receipts(stack.sink)
    before = receipts.refresh()
    say(f"(a) run --once over {n} mails …")
    meter, c0 = meter_of(stack, servers, {}), counts(stack)
    cpu, spying, wall = once(tmp / "once.raw")
    counted = counts(stack, c0, n)
    per = meter.take(n)
    mine = round(1000 * (cpu - startup) / n, 1)
    # both were reaped by this harness: the kernel adds them to its children's time
    per["harness"] = round(per.get("harness", 0.0) - 1000 * (cpu + spying) / n, 1)
    per = {"run --once (less start-up)": mine, **per, "py-spy": round(1000 * spying / n, 1)}
    return {"mails": n, "receipts": receipts.refresh() - before, "seconds": round(wall, 1),
            "mails_per_s": round(n / wall, 1), "startup_cpu_s": round(startup, 2),
            "cpu_ms_per_mail": per, "per_mail": counted,
            "profile": profile([tmp / "once.raw"], mine + 1000 * startup / n, n)}


def production(stack: Stack, tmp: Path, servers: dict[str, int], n: int,
               warm: int, corpus: Path | None = None) -> dict[str, object]:
    say(f"(b) listener, scheduler, 2 workers × 4 threads: 12 s, then {warm} mails …")
    procs = [stack.start("listener"), stack.start("scheduler"),
             *(stack.start("worker", "--threads", "4") for _ in range(2))]
    time.sleep(12)  # the workers load the model
    receipts = Receipts(stack.sink)
    # warm: each worker's first mails (lingua's models, the caches, connections)
    preload_maildir(stack.dovecot, [citizen_mail(2 * n + i, _templates()) for i in range(warm)])
    wait_done(stack, receipts, receipts.refresh() + warm, 300)
    roles = dict(zip(("listener", "scheduler", "worker 1", "worker 2"),
                     (p.pid for p in procs), strict=True))
    raws = {role: tmp / f"{role.replace(' ', '')}.raw" for role in roles}
    spies = [spy(pid, raws[role]) for role, pid in roles.items()]
    time.sleep(0.5)
    before = receipts.refresh()
    mails = the_mails(corpus, n, n)
    say(f"(b) {n} mails into the Maildir …")
    spying = {f"py-spy {i}": p.pid for i, p in enumerate(spies) if p is not None}
    meter, c0 = meter_of(stack, servers, roles | spying), counts(stack)
    began = time.monotonic()
    preload_maildir(stack.dovecot, mails)
    wait_done(stack, receipts, before + n, 600)
    wall = time.monotonic() - began
    per = meter.take(n)
    per["py-spy"] = round(sum(per.pop(k, 0.0) for k in spying), 1)
    stop_spies(spies)
    time.sleep(11)  # idle backends flush their statistics after 10 s (PostgreSQL 15)
    workers = per.get("worker 1", 0.0) + per.get("worker 2", 0.0)
    return {"mails": n, "receipts": receipts.refresh() - before, "seconds": round(wall, 1),
            "mails_per_s": round(n / wall, 1), "cpu_ms_per_mail": per,
            "per_mail": counts(stack, c0, n),
            "workers_profile": profile([raws["worker 1"], raws["worker 2"]], workers, n),
            "listener_profile": profile([raws["listener"]], per.get("listener", 0.0), n, 8)}


def lingua_probe(n: int) -> dict[str, float]:
    """Here: language detection's CPU, a first pass over the fixtures' texts
    (lingua loads its models in the first) and a second."""
    from classify.language import detect
    from config.settings import Settings
    from ingest.parse import parse

    texts = [getattr(parse(citizen_mail(i, _templates()), Settings().limits), "text", "")
             for i in range(n)]
    passes = [time.process_time()]
    for _ in range(2):
        for text in texts:
            detect(text)
        passes.append(time.process_time())
    return {"texts": n, "first_pass_cpu_s": round(passes[1] - passes[0], 2),
            "later_ms_per_text": round(1000 * (passes[2] - passes[1]) / n, 2)}


def report(result: dict[str, object]) -> str:
    lines = [f"command  {result['command']}", f"commit   {result['commit']}",
             f"lingua   {result['lingua']}"]
    for mode in ("once", "production"):
        r = result.get(mode)
        if not isinstance(r, dict):
            continue
        lines += ["", f"== {mode}: {r['mails']} mails, {r['receipts']} receipts, {r['seconds']} s"
                  f" = {r['mails_per_s']} mails/s; start-up {r.get('startup_cpu_s', '-')} s CPU",
                  f"   per mail: {r['per_mail']}", "   process / server" + " " * 21 + "CPU ms/mail"]
        cpu = r["cpu_ms_per_mail"]
        for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]):
            lines.append(f"     {k:34} {v:7.1f}")
        lines.append(f"     {'all (steal left out)':34} "
                     f"{sum(v for k, v in cpu.items() if k != 'steal'):7.1f}")
        for name in ("profile", "workers_profile", "listener_profile"):
            p = r.get(name)
            if not isinstance(p, dict):
                continue
            lines.append(f"-- {name}: {p['samples']} samples ({p['coverage']} × the CPU "
                         "measured)    share   ms/mail")
            for stage, v in p["stages"].items():
                lines.append(f"     {stage:42} {v['share_pct']:5.1f} % {v['ms_per_mail']:7.2f}")
            lines.append(f"   SQL called from: {p['sql_called_from_pct']}")
            lines += [f"   {f['share_pct']:5.1f} %  {f['frame'][:80]}  [{f['stage']}]"
                      for f in p["top_functions"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=600, help="mails in each mode")
    parser.add_argument("--mode", choices=["once", "production", "both"], default="both")
    parser.add_argument("--warm-mails", type=int, default=50,
                        help="mails the production processes answer before the measurement")
    parser.add_argument("--corpus", type=Path,
                        help="a folder of .eml files to send instead of the fixtures")
    parser.add_argument("--keep", type=Path, help="copy py-spy's raw stacks to this folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.corpus and args.mode == "both":
        parser.error("--corpus needs --mode once or --mode production")
    if args.corpus and not (args.corpus / "manifest.json").is_file():
        parser.error(f"no manifest.json in {args.corpus}: make it with make_corpus.py")
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    if PYSPY is None:  # the CPU per process is still measured; the stages are not
        say("py-spy is not installed (it is in no requirements file): no stages. "
            "To profile: .venv/bin/pip install py-spy")
    git = [subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True)
           .stdout.strip() for a in (["rev-parse", "--short", "HEAD"], ["status", "-suno"])]
    result: dict[str, object] = {
        "command": " ".join(["benchmarks/profile_mail.py", *sys.argv[1:]]),
        "commit": git[0] + (" (with uncommitted changes)" if git[1] else ""),
        "py_spy": PYSPY is not None, "load_average_at_start": os.getloadavg()}
    env = {"SYNPUNKT_DELIVERY_RETRY_SECONDS": "5", "SYNPUNKT_SWEEP_SECONDS": "30"}
    with private_stack("profile", env) as (stack, redis, tmp):
        servers = {"redis": redis.pid or 0, "smtp sink": stack.sink.pid or 0}
        if args.mode in ("once", "both"):
            result["once"] = run_once(stack, tmp, servers, args.mails, args.corpus)
        if args.mode in ("production", "both"):
            result["production"] = production(stack, tmp, servers, args.mails, args.warm_mails,
                                              args.corpus)
        result["load_average_at_end"] = os.getloadavg()
        result["lingua"] = lingua_probe(100)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for raw in tmp.glob("*.raw"):
                shutil.copy(raw, args.keep / raw.name)
    print(json.dumps(result) if args.json else report(result))


if __name__ == "__main__":
    main()
