"""The real-mail corpus through the pipeline, now and before issue 20, in one run.

    .venv/bin/python benchmarks/realmail.py [--base 73dc90d] [--rounds 3] [--json]

For this checkout and for the commit ``--base`` (checked out beside it as a
git worktree, run with the same virtual environment; mail-parser, which the
older parser used, is installed into a scratch folder when missing):

(a) parse + screen: every message of ``../shared/realmail/`` parsed and
    screened in memory, best of ``--rounds``: mails per second.
(b) the pipeline: every message stored in a fresh SQLite register and
    processed by the embedded mode's steps (parse, screen, classify, route,
    register, queue the receipts), the trained classifier loaded before the
    clock starts: mails per second.

The verdict: the pipeline now against before, as a ratio (issue 20 allows
10 % slower at most). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "realmail"

DRIVER = r'''
import csv, json, sys, time, tempfile
from pathlib import Path
corpus = Path(sys.argv[1]); rounds = int(sys.argv[2])
rows = list(csv.DictReader(open(corpus / "truth.tsv", encoding="utf-8"), delimiter="\t"))
raws = [(r["file"], (corpus / "mail" / r["file"]).read_bytes()) for r in rows]
from config.settings import Limits, Settings
from ingest.parse import parse
from ingest.message import Quarantine
import ingest.screen as screen_module
limits = Limits()
def screened(message):
    if hasattr(screen_module, "Context"):
        return screen_module.screen(message, screen_module.Context("ekby.example", frozenset()))
    return screen_module.screen(message, "ekby.example", frozenset())
best = None
for _ in range(rounds):
    began = time.perf_counter()
    for _name, raw in raws:
        message = parse(raw, limits)
        if not isinstance(message, Quarantine):
            screened(message)
    took = time.perf_counter() - began
    best = took if best is None else min(best, took)
from cases.inbound import store_raw
from cases.migrate import upgrade
from service.app import build_app
from service.pipeline import pending_inbound, process_inbound
with tempfile.TemporaryDirectory() as home:
    app = build_app(Settings(home=Path(home)))
    upgrade(app.engine)
    app.classifier.warm() if hasattr(app.classifier, "warm") else None
    with app.sessions.begin() as session:
        for name, raw in raws:
            store_raw(session, "realmail", name, raw, received_at=app.clock())
    began = time.perf_counter()
    for inbound_id in pending_inbound(app):
        process_inbound(app, inbound_id)
    pipeline = time.perf_counter() - began
    app.engine.dispose()
print(json.dumps({"mails": len(raws), "parse_screen_per_s": len(raws) / best,
                  "pipeline_per_s": len(raws) / pipeline}))
'''


def measure(code: Path, rounds: int, extra_path: str | None) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code), extra_path) if p)
    done = subprocess.run([sys.executable, "-c", DRIVER, str(CORPUS), str(rounds)], cwd=code,
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run in {code} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def mail_parser_path(scratch: Path) -> str | None:
    """A folder holding mail-parser for the older code, when the venv lacks it."""
    try:
        import mailparser  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        target = scratch / "deps"
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(target),
                        "mail-parser==4.8.0"], check=True)
        return str(target)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", default="73dc90d", help="the commit before issue 20")
    parser.add_argument("--rounds", type=int, default=3, help="parse+screen rounds (best)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="synpunkt-realmail-") as tmp:
        scratch = Path(tmp)
        base = scratch / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            print(f"this checkout ({head}) ...", file=sys.stderr)
            now = measure(ROOT, args.rounds, None)
            print(f"before ({args.base}) ...", file=sys.stderr)
            before = measure(base, args.rounds, mail_parser_path(scratch))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=False, capture_output=True)
    ratio = now["pipeline_per_s"] / before["pipeline_per_s"]
    result = {"commit": head, "base": args.base, "mails": now["mails"], "now": now,
              "before": before, "pipeline_ratio": round(ratio, 3)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{int(now['mails'])} real mails; {head} against {args.base}")
    print(f"parse + screen: {now['parse_screen_per_s']:.0f}/s now, "
          f"{before['parse_screen_per_s']:.0f}/s before")
    print(f"pipeline:       {now['pipeline_per_s']:.1f}/s now, "
          f"{before['pipeline_per_s']:.1f}/s before (ratio {ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
