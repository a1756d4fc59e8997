"""CPU of one run of a command: what cron, a health check or a person pays
for each start of ``synpunkt``.

    .venv/bin/python benchmarks/command_cpu.py [--runs 5] [--json] [COMMAND ...]

Each command (default: ``health --json``, ``cases list``, ``rules check``)
runs --runs times in a fresh embedded home (the register created by the
first run), and the kernel's user + system CPU of each run is read at its
exit: the median and the least are printed. A command that exits 1 (health
with no processes running) counts like any other: its CPU is what is asked
about.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import synpunkt_cmd  # noqa: E402

DEFAULT = ("health --json", "cases list", "rules check")


def cpu_of(command: list[str], env: dict[str, str]) -> float:
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # reaped here, for the kernel's usage
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commands", nargs="*", default=list(DEFAULT), metavar="COMMAND",
                        help="a synpunkt command line in quotes, e.g. 'health --json'")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory(prefix="synpunkt-cmd-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
        env["SYNPUNKT_HOME"] = home
        for line in args.commands:
            runs = [cpu_of([synpunkt_cmd(), *shlex.split(line)], env) for _ in range(args.runs)]
            figures[line] = {"median_s": round(statistics.median(runs), 3),
                             "least_s": round(min(runs), 3)}
    if args.json:
        print(json.dumps({"command": " ".join(["benchmarks/command_cpu.py", *sys.argv[1:]]),
                          "runs": args.runs, "cpu": figures}))
        return
    print(f"CPU of one run (user + system), {args.runs} runs each:")
    for line, f in figures.items():
        print(f"  synpunkt {line:24} median {f['median_s']:.2f} s, least {f['least_s']:.2f} s")


if __name__ == "__main__":
    main()
