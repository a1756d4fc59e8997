"""The load benchmark's CPU meter reads real processes from /proc."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.procstat import CpuMeter, cpu_seconds

BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def test_a_process_groups_cpu_is_counted_with_its_reaped_children() -> None:
    # The leader starts a child that burns 0.4 s of CPU and waits for it:
    # the child's CPU is in the leader's group's total after it was reaped.
    leader = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys, time\n"
         f"subprocess.run([sys.executable, '-c', {BURN!r}])\nprint('reaped', flush=True)\n"
         f"time.sleep(10)"],
        start_new_session=True, stdout=subprocess.PIPE, text=True)
    try:
        meter = CpuMeter({"burner": leader.pid}, {}, done=0)
        assert leader.stdout is not None
        assert leader.stdout.readline().strip() == "reaped"  # only the leader is left
        assert cpu_seconds({"burner": leader.pid}, {})["burner"] >= 0.4
        per_mail = meter.take(done=10)
        assert per_mail["burner"] >= 0.3 * 1000 / 10  # at least 30 ms per "mail"
        assert "other" in per_mail and "steal" in per_mail
        assert meter.take(done=10) == {}  # nothing answered since: no figure
    finally:
        leader.kill()
        leader.wait()
