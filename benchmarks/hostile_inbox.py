"""The hostile inbox at full size, with figures: what each input became,
how long parsing it took, and the peak memory of `synpunkt run --once`.

    .venv/bin/python benchmarks/hostile_inbox.py [--big-mb 50] [--json]

Two runs of `synpunkt run --once --json` in fresh homes (embedded mode,
SQLite, default limits): the two ordinary fixture mails alone (the baseline),
then every input of tests/hostile.py, the attachment of --big-mb MB first,
followed by the same two ordinary mails. Peak RSS is the child's maximum
resident set size. Parse times are measured in this process, one input at a
time, with the default limits.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.settings import Limits  # noqa: E402
from ingest.parse import parse  # noqa: E402
from tests import hostile  # noqa: E402
from tests.support import FIXTURES, synpunkt_cmd  # noqa: E402

ORDINARY = ("01_hemtjanst_kom_inte.eml", "03_sophamtning_uteblir.eml")


def run_once(mails: dict[str, bytes]) -> dict[str, object]:
    """One `synpunkt run --once --json` over ``mails`` in a fresh home."""
    with tempfile.TemporaryDirectory(prefix="synpunkt-hostile-") as tmp:
        home = Path(tmp)
        new = home / "inbox" / "new"
        new.mkdir(parents=True)
        for i, (name, raw) in enumerate(mails.items()):
            (new / f"{i:03d}_{name}").write_bytes(raw)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
        env["SYNPUNKT_HOME"] = str(home)
        start = time.monotonic()
        with (home / "out.json").open("wb") as out:
            proc = subprocess.Popen([synpunkt_cmd(), "run", "--once", "--json"], env=env,
                                    stdout=out, stderr=subprocess.DEVNULL)
            _pid, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS
        took = time.monotonic() - start
        report = (home / "out.json").read_text("utf-8").splitlines()
        with sqlite3.connect(home / "synpunkt.sqlite3") as db:
            rows = db.execute("select source_key, status, reason from inbound").fetchall()
            receipts = db.execute(
                "select count(*) from outbox where kind = 'mottagningsbevis'").fetchone()[0]
    return {"exit": os.waitstatus_to_exitcode(status),
            "seconds": round(took, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "report": json.loads(report[0]) if report else None,
            "receipts": receipts,
            "final": {key.split("_", 1)[1]: {"status": st, "reason": reason}
                      for key, st, reason in rows}}


def parse_times(mails: dict[str, bytes]) -> dict[str, float]:
    times = {}
    for name, raw in mails.items():
        start = time.perf_counter()
        parse(raw, Limits())
        times[name] = round((time.perf_counter() - start) * 1000, 1)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big-mb", type=int, default=50, help="size of the big attachment")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    ordinary = {name: (FIXTURES / name).read_bytes() for name in ORDINARY}
    mails = {**hostile.hostile_mails(args.big_mb * 2**20), **ordinary}
    result = {
        "big_attachment_bytes": args.big_mb * 2**20,
        "big_message_bytes": len(mails["big_attachment"]),
        "parse_ms": parse_times(mails),
        "baseline": run_once(ordinary),
        "hostile": run_once(mails),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    base, run = result["baseline"], result["hostile"]
    assert isinstance(base, dict)
    assert isinstance(run, dict)
    print(f"baseline (2 ordinary mails): exit {base['exit']}, {base['seconds']} s, "
          f"peak RSS {base['peak_rss_mb']} MB")
    print(f"hostile inbox ({len(mails)} mails, {result['big_message_bytes']} byte big mail): "
          f"exit {run['exit']}, {run['seconds']} s, peak RSS {run['peak_rss_mb']} MB, "
          f"{run['receipts']} mottagningsbevis")
    times = result["parse_ms"]
    assert isinstance(times, dict)
    final = run["final"]
    assert isinstance(final, dict)
    for name, state in final.items():
        print(f"  {name:22} {times.get(name, 0):>8} ms  {state['status']:12} "
              f"{state['reason'] or ''}")


if __name__ == "__main__":
    main()
