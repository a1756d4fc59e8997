"""What a long-lived process pays before its first message: the CPU and the
memory of building the app and warming up as ``synpunkt worker`` does
(``cli.production.warm``: the model, the lemma step, lingua's models, the
routing rules, the days off), in a fresh Python each run.

    .venv/bin/python benchmarks/warm_cost.py [--runs 5] [--json]

Each run is a new process in a fresh embedded home: it imports, builds the
app, warms, and reports its user + system CPU, split at the warm-up, and
its resident memory after it (VmRSS) and at its largest (VmHWM). The median
and the least of each are printed. Run at two commits, in their own clones
and venvs, to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def mib(key):
    line = next(x for x in open("/proc/self/status") if x.startswith(key))
    return int(line.split()[1]) // 1024
from cli.production import warm
from service.app import build_app
app = build_app()
before = cpu()
warm(app)
print(json.dumps({"build_cpu_s": before, "warm_cpu_s": cpu() - before, "cpu_s": cpu(),
                  "rss_mib": mib("VmRSS:"), "peak_rss_mib": mib("VmHWM:")}))
"""


def one_run(home: Path) -> dict[str, float]:
    env = {"SYNPUNKT_HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=600)
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="processes started (default 5)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="synpunkt-warm-") as tmp:
        for i in range(args.runs):
            runs.append(one_run(Path(tmp) / f"home-{i}"))
            print(f"run {i + 1}/{args.runs}: {runs[-1]}", file=sys.stderr)
    summary = {key: {"median": round(statistics.median(r[key] for r in runs), 2),
                     "least": round(min(r[key] for r in runs), 2)} for key in runs[0]}
    if args.json:
        print(json.dumps({"runs": args.runs, **summary}))
        return
    for key, value in summary.items():
        print(f"{key:14} median {value['median']:8.2f}   least {value['least']:8.2f}")


if __name__ == "__main__":
    main()
