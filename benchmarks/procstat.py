"""What the processes of a benchmark's stack use, read from /proc: memory of
one process, CPU of a process group (a server and every child it started,
with the children it has already reaped) or of every process of one name
(the machine's PostgreSQL and its backends)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def rss_mib(pid: int) -> float:
    try:
        lines = (PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def proc_stats() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, the fields after it) of every live process."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        yield (int(entry.name), raw[raw.find("(") + 1:raw.rfind(")")],
               raw[raw.rfind(")") + 2:].split())


def _cpu(fields: list[str]) -> float:
    # state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime: fields 11..14 after the name
    return sum(int(x) for x in fields[11:15]) / TICK


def machine_seconds() -> tuple[float, float]:
    """CPU seconds the whole machine has been busy (all cores, the kernel's
    interrupt work included), and those stolen by the hypervisor."""
    fields = [int(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / TICK, steal / TICK


def cpu_seconds(groups: dict[str, int], names: dict[str, str]) -> dict[str, float]:
    """CPU seconds so far: for each label in ``groups`` of the process group
    with that id, for each label in ``names`` of the processes so named;
    ``other``, what the machine spent on anything else (the kernel's own
    work, other services), and ``steal``, what the hypervisor took."""
    by_group = {pgid: label for label, pgid in groups.items()}
    totals = dict.fromkeys([*groups, *names], 0.0)
    for _pid, name, fields in proc_stats():
        if len(fields) < 15:
            continue
        label = by_group.get(int(fields[2]))
        if label is None:
            label = next((lab for lab, wanted in names.items() if name == wanted), None)
        if label is not None:
            totals[label] += _cpu(fields)
    busy, steal = machine_seconds()
    totals["other"] = busy - sum(totals.values())
    totals["steal"] = steal
    return totals


class CpuMeter:
    """CPU per mail of each part of a stack, interval by interval: ``take``
    is given the number of mails answered so far and returns, for each
    label, the CPU milliseconds per mail answered since the last take."""

    def __init__(self, groups: dict[str, int], names: dict[str, str], done: int = 0) -> None:
        self.groups, self.names = groups, names
        self.last = cpu_seconds(groups, names)
        self.last_done = done

    def take(self, done: int) -> dict[str, float]:
        now = cpu_seconds(self.groups, self.names)
        mails, self.last_done = done - self.last_done, done
        spent = {label: now[label] - self.last[label] for label in now}
        self.last = now
        if mails <= 0:
            return {}
        return {label: round(1000 * s / mails, 1) for label, s in spent.items()}


def summed(per_label: dict[str, float], prefix: str) -> float:
    """The sum of the labels that start with ``prefix`` (the workers)."""
    return round(sum(v for k, v in per_label.items() if k.startswith(prefix)), 1)
