"""py-spy's sampled stacks of Synpunkt's processes, put in the stages of a
mail's way (benchmarks/profile_mail.py): each sample's stage is named by its
innermost frame that names one, so SQL called from the outbox counts as SQL
and lingua called from the classifier as language detection."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

PYSPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
SQL, OTHER = "register/SQL (SQLAlchemy + psycopg)", "other"
SMTP = "outbox/SMTP delivery"
# (stage, marks in a frame "function (/path/file.py:line)"), tried on each
# frame from the innermost outwards; the first frame with a mark names it.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("logging", ("/logging/",)),
    (SQL, ("/sqlalchemy/", "/psycopg")),
    (SMTP, ("smtplib", "/notify/smtp.py", "/notify/attempt.py", "/notify/delivery.py")),
    ("classify: language detection (lingua)", ("/classify/language.py", "/lingua/")),
    ("classify (spaCy)", ("/spacy/", "/thinc/", "/numpy/", "/classify/")),
    ("parse", ("/mailparser/", *(f"/ingest/{m}.py" for m in (
        "parse", "body", "charset", "htmltext", "address", "bounded", "message", "forward")))),
    ("screen", ("/ingest/screen.py", "/ingest/spamfilter.py", "/ingest/lookalike.py")),
    ("route", ("/routing/",)),
    ("IMAP (listener)", ("/imapclient/", "imaplib", "/ingest/imap.py", "/ingest/imapurl.py")),
    ("dramatiq/Redis messaging", ("/dramatiq/", "/redis/", "/workers/actors.py",
                                  "/workers/broker.py")),
    (SMTP, ("/notify/", "/jinja2/")),
    (SQL, ("/cases/", "/deadlines/", "/ingest/thread.py")),
]
STARTUP = ("start-up (imports, model load)", ("_find_and_load", "load_model", "build_app"))
PROJECT = ("cases", "service", "notify", "workers", "ingest", "classify", "routing", "deadlines")


def stage_of(stack: list[str]) -> str:
    """The stage of one sampled stack (outermost frame first); py-spy gives
    each frame's file relative to its sys.path entry."""
    stack = [f.replace(" (", " (/", 1) for f in stack]
    if any(mark in frame for frame in stack for mark in STARTUP[1]):
        return STARTUP[0]
    for frame in reversed(stack):
        for stage, marks in STAGES:
            if any(mark in frame for mark in marks):
                return stage
    return OTHER


def profile(files: list[Path], cpu_ms: float, n: int, top: int = 15) -> dict[str, object]:
    """Samples per stage (ms per mail from the processes' measured CPU), per
    innermost frame, and for SQL per the project's file that calls it;
    ``coverage``: samples over (CPU seconds measured × 100 Hz)."""
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    sql: Counter[str] = Counter()
    for path in files:
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            frames, _, count = line.rpartition(" ")
            if not frames or not count.isdigit():
                continue
            stack = frames.split(";")
            stages[stage := stage_of(stack)] += int(count)
            leaves[stack[-1]] += int(count)
            if stage == SQL:
                ours = [f for f in stack if any(f"({p}/" in f for p in PROJECT)]
                sql[re.sub(r"^.* \((.*):\d+\)$", r"\1", ours[-1]) if ours else "?"] += int(count)
    samples = sum(stages.values())
    total = samples or 1
    return {"samples": samples, "coverage": round(samples / max(cpu_ms * n / 10, 1), 2),
            "stages": {k: {"share_pct": round(100 * v / total, 1),
                           "ms_per_mail": round(cpu_ms * v / total, 2)}
                       for k, v in stages.most_common()},
            "sql_called_from_pct": {k: round(100 * v / total, 1) for k, v in sql.most_common(10)},
            "top_functions": [{"frame": k, "share_pct": round(100 * v / total, 1),
                               "stage": stage_of([k])} for k, v in leaves.most_common(top)]}


def spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    # --gil: only the thread running Python; without it a thread waiting on a
    # socket in psycopg or redis-py is sampled as active (3 times the CPU)
    return None if PYSPY is None else subprocess.Popen(
        [PYSPY, "record", "--pid", str(pid), "--rate", "100", "--format", "raw",
         "--nonblocking", "--gil", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stop_spies(spies: list[subprocess.Popen[bytes] | None]) -> float:
    """SIGINT (py-spy writes its file), reap; their CPU seconds."""
    spent = 0.0
    for p in (p for p in spies if p is not None):
        os.kill(p.pid, signal.SIGINT)  # not send_signal: it would reap an exited one
    for p in (p for p in spies if p is not None):
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        spent += usage.ru_utime + usage.ru_stime
    return spent
