"""Synpunkt beside django-helpdesk on the same mails and servers, in one run,
with the CPU each process and server spends per mail (issue 25).

    .venv/bin/python benchmarks/side_by_side.py [--json] [--keep-log]

Runs the shared ``../shared/peers/side_by_side.sh`` unchanged (1,050 mails in
a private Dovecot, PostgreSQL, Redis and aiosmtpd sink: raw ``UID FETCH``
in batches of 100, django-helpdesk's ``get_email``, ``synpunkt run
--once``, then Synpunkt's production processes: listener, two workers,
scheduler) and meanwhile reads /proc five times a second. Each process is
put in a group by what it is (the Synpunkt role from its command line, the
server it belongs to by its ancestry), and each group's CPU is counted over
the window of each phase: while ``get_email`` runs, while ``run --once``
runs, and from the listener's start to its end (the workers load the model
before that and are not charged for it). Divided by the mails of the run.
The rates are the shared script's own. Also the largest resident memory of
each Synpunkt process. About 8 minutes on two cores (the first run also
builds django-helpdesk's venv, needing PyPI); run on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.procstat import TICK, proc_stats, rss_mib  # noqa: E402

SHARED = ROOT.parent / "shared" / "peers"
PROC = Path("/proc")
PHASES = ("django-helpdesk", "run --once", "production")
# Synpunkt roles by the word after the program name.
ROLES = {"worker": "Synpunkt worker", "listener": "Synpunkt listener",
         "scheduler": "Synpunkt scheduler", "run": "Synpunkt run --once"}


@dataclass
class Sample:
    at: float
    procs: dict[int, tuple[str, float]]  # pid -> (group, cpu seconds)


@dataclass
class Sampler:
    """Every process's CPU, five times a second, with its group."""

    samples: list[Sample] = field(default_factory=list)
    peak_rss: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # A process keeps the group it was first recognised by: an exiting
    # process's command line reads empty, which would file its last sample
    # (and so all its CPU) under its parent, the harness. By (pid, start time).
    known: dict[tuple[int, str], str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    mark: ClassVar[str] = "/sbs/"  # the servers' processes name this folder

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.samples.append(self.take())

    def take(self) -> Sample:
        stats: dict[int, tuple[str, int, float]] = {}  # pid -> (comm, ppid, cpu)
        started: dict[int, str] = {}
        for pid, comm, fields in proc_stats():
            # utime + stime only: a child's CPU is counted under its own pid
            # while it lives, and the kernel adds it to its parent's cutime
            # when reaped (a PostgreSQL backend, the workers under the harness)
            stats[pid] = (comm, int(fields[1]), sum(int(x) for x in fields[11:13]) / TICK)
            started[pid] = fields[19]
        groups: dict[int, str] = {}
        procs = {}
        for pid, (_comm, _ppid, cpu) in stats.items():
            key = (pid, started[pid])
            group = self.known.get(key) or self.group_of(pid, stats, groups)
            if group is None:
                continue
            if group != "harness":
                self.known[key] = group
            procs[pid] = (group, cpu)
            if group.startswith("Synpunkt"):
                self.peak_rss[group] = max(self.peak_rss[group], rss_mib(pid))
        return Sample(time.monotonic(), procs)

    def group_of(self, pid: int, stats: dict[int, tuple[str, int, float]],
                 memo: dict[int, str]) -> str | None:
        """The group of ``pid``: its own, else its nearest ancestor's."""
        seen = []
        group = None
        while pid in stats and pid > 1:
            if pid in memo:
                group = memo[pid]
                break
            seen.append(pid)
            group = _own_group(pid, stats[pid][0], self.mark)
            if group is not None:
                break
            pid = stats[pid][1]
        for p in seen:
            memo[p] = group or ""
        return group or None


def _cmdline(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _own_group(pid: int, comm: str, mark: str) -> str | None:
    """The group a process is by itself; None to ask its parent."""
    cmd = _cmdline(pid)
    text = " ".join(cmd)
    where = next((i for i, a in enumerate(cmd[:2]) if Path(a).name == "synpunkt"), None)
    if where is not None:
        role = cmd[where + 1] if len(cmd) > where + 1 else ""
        return ROLES.get(role, "harness")
    if comm == "redis-server" and ":16379" in text:
        return "Redis"
    if mark not in text:
        return None
    if "dovecot" in text:
        return "Dovecot"
    if comm == "postgres" or "/postgres " in text:
        return "PostgreSQL"
    if "get_email" in text or "manage.py" in text:
        return "django-helpdesk"
    if "aiosmtpd" in text:
        return "SMTP sink"
    return "harness"


def windows(samples: list[Sample]) -> dict[str, tuple[int, int]]:
    """For each phase, the first and last sample in which its marker lives."""
    marker = {"django-helpdesk": "django-helpdesk", "run --once": "Synpunkt run --once",
              "production": "Synpunkt listener"}
    found: dict[str, tuple[int, int]] = {}
    for i, sample in enumerate(samples):
        groups = {g for g, _ in sample.procs.values()}
        for phase, group in marker.items():
            if group in groups:
                first = found.get(phase, (i, i))[0]
                found[phase] = (first, i)
    return found


def spent(samples: list[Sample], first: int, last: int) -> dict[str, float]:
    """CPU seconds per group between two samples: each process's growth,
    from its value at ``first`` (or zero, if it started later) to its last
    value seen up to ``last``."""
    start = samples[first].procs
    end: dict[int, tuple[str, float]] = {}
    for sample in samples[first:last + 1]:
        end.update(sample.procs)
    out: dict[str, float] = defaultdict(float)
    for pid, (group, cpu) in end.items():
        out[group] += cpu - (start[pid][1] if pid in start else 0.0)
    return dict(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "sbs"),
                        help="the shared script's W, its servers' state beneath it (/tmp/sbs)")
    args = parser.parse_args()
    Sampler.mark = str(Path(args.work).resolve()) + "/"
    script = SHARED / "side_by_side.sh"
    if not script.exists():
        print(f"side_by_side.py: {script} saknas (../shared beside the project)", file=sys.stderr)
        return 2
    sampler = Sampler()
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    began = time.monotonic()
    env = {**os.environ, "W": args.work}
    done = subprocess.run(["bash", str(script), str(ROOT / ".venv" / "bin")], env=env,
                          capture_output=True, text=True)
    sampler.stop.set()
    thread.join()
    line = next((x for x in done.stdout.splitlines() if x.startswith("side by side")), "")
    if not line:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        return 1
    n = int(re.search(r"side by side, (\d+) mails", line).group(1))  # type: ignore[union-attr]
    cpu = {}
    for phase, (first, last) in windows(sampler.samples).items():
        seconds = spent(sampler.samples, first, last)
        cpu[phase] = {g: round(1000 * s / n, 1) for g, s in sorted(seconds.items()) if s > 0}
        cpu[phase]["window_s"] = round(sampler.samples[last].at - sampler.samples[first].at, 1)
    result = {"line": line, "mails": n, "cpu_ms_per_mail": cpu,
              "peak_rss_mib": {g: round(v) for g, v in sorted(sampler.peak_rss.items())},
              "results": _results(Path(args.work) / "results"),
              "wall_s": round(time.monotonic() - began)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    print(line)
    print(f"\nCPU ms per mail, {n} mails, by process and server, in each phase's window:")
    groups = sorted({g for c in cpu.values() for g in c if g != "window_s"})
    print(f"{'':24}" + "".join(f"{p:>18}" for p in PHASES))
    for g in groups:
        print(f"{g:24}" + "".join(f"{cpu.get(p, {}).get(g, 0.0):>18.1f}" for p in PHASES))
    print(f"{'window (s)':24}" + "".join(f"{cpu.get(p, {}).get('window_s', 0):>18}"
                                         for p in PHASES))
    print("\nlargest resident memory (MiB): " + ", ".join(
        f"{g} {v}" for g, v in result["peak_rss_mib"].items()))
    return 0


def _results(folder: Path) -> dict[str, object]:
    try:
        return dict(json.loads((folder / "synpunkt.json").read_text()))
    except (OSError, ValueError):
        return {}


if __name__ == "__main__":
    sys.exit(main())
