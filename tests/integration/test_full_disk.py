"""A full disk in the embedded mode: `synpunkt run` (SQLite) with
SYNPUNKT_HOME on a small tmpfs; the disk is filled while mail arrives, then
space is freed. Its row goes to tests/artifacts/faults.md beside those of
tests/integration/test_faults.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from cases.models import Case, Inbound, Outbox, OutboxStatus
from tests.faults import PER_SLOT, Mail, Row, make_mails, receipt_recipients, write_table
from tests.support import synpunkt_cmd


def test_full_disk_in_the_embedded_mode(tmp_path: Path) -> None:
    """`synpunkt run` on SQLite with SYNPUNKT_HOME on a 24 MB tmpfs mounted in a
    private mount namespace (`unshare -m`): the mount exists only for that
    process and vanishes with it, the machine is never touched. The disk is
    filled, mail arrives, then space is freed."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.fail("the full-disk test mounts a tmpfs: it needs root and unshare")
    home = tmp_path / "home"  # empty here; the tmpfs covers it inside the namespace
    home.mkdir()
    script = (f"mount -t tmpfs -o size=24m tmpfs {home} && "
              f"mkdir -p {home}/inbox/new {home}/inbox/cur {home}/inbox/tmp {home}/staging && "
              f"exec {synpunkt_cmd()} run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    env |= {"SYNPUNKT_HOME": str(home), "SYNPUNKT_POLL_SECONDS": "0.5",
            "SYNPUNKT_DELIVERY_RETRY_SECONDS": "1"}
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        row = _full_disk(proc, Path(f"/proc/{proc.pid}/root{home}"), log_path, tmp_path)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    write_table([row])
    assert row.lost == 0
    assert row.duplicates == 0


def _full_disk(proc: subprocess.Popen[bytes], root: Path, log_path: Path, tmp: Path) -> Row:
    def log_text() -> str:
        return log_path.read_text(errors="replace")

    def wait(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert proc.poll() is None, f"synpunkt run exited:\n{log_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{what}:\n{log_text()[-3000:]}"
            time.sleep(0.2)

    def drop(mails: list[Mail]) -> None:  # as an MTA delivers: staging, then rename into new/
        for i, mail in enumerate(mails):
            name = f"{time.time_ns()}.{i}.faults"
            (root / "staging" / name).write_bytes(mail.raw)
            os.rename(root / "staging" / name, root / "inbox" / "new" / name)

    def done(mails: list[Mail]) -> bool:  # the inbox empty, every citizen's receipt written
        return (not any((root / "inbox" / "new").iterdir())
                and {m.sender.lower() for m in mails} <= set(receipts()))

    def receipts() -> Counter[str]:
        return receipt_recipients(path.read_bytes() for path in (root / "outbox").glob("*.eml"))

    began = time.monotonic()
    wait(lambda: "Synpunkt kör" in log_text(), "synpunkt run did not start")
    print(f"disk: synpunkt run up after {time.monotonic() - began:.1f} s")
    before = make_mails("disk", "b", PER_SLOT)
    drop(before)
    wait(lambda: done(before), "mail before the disk filled")
    print(f"disk: first mails answered after {time.monotonic() - began:.1f} s")

    during = make_mails("disk", "d", PER_SLOT)
    for i, mail in enumerate(during):  # written while there is room, delivered once full
        (root / "staging" / f"held{i}").write_bytes(mail.raw)
    filler = root / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    offset = len(log_text())
    for i, _mail in enumerate(during):
        os.rename(root / "staging" / f"held{i}", root / "inbox" / "new" / f"held{i}.faults")
    wait(lambda: "disk is full" in log_text()[offset:], "no error naming the full disk")
    time.sleep(2)  # a few more passes against the full disk
    waiting = len(list((root / "inbox" / "new").iterdir()))
    errors = [line[line.find("pass failed"):] for line in log_text()[offset:].splitlines()
              if "disk is full" in line]
    filler.unlink()

    after = make_mails("disk", "a", PER_SLOT)
    drop(after)
    everything = before + during + after
    wait(lambda: done(everything), "mail after space was freed")
    print(f"disk: all answered after {time.monotonic() - began:.1f} s")
    time.sleep(1)  # the pass that delivered has committed
    for name in ("synpunkt.sqlite3", "synpunkt.sqlite3-wal"):  # SQLite resolves /proc links
        shutil.copyfile(root / name, tmp / name)
    engine = create_engine(f"sqlite:///{tmp / 'synpunkt.sqlite3'}")
    with engine.connect() as conn:
        stored = Counter(conn.execute(select(Inbound.message_id)).scalars())
        cases = Counter(conn.execute(select(Case.message_id)).scalars())
        outbox = Counter(conn.execute(select(Outbox.status).where(
            Outbox.kind == "mottagningsbevis")).scalars())
    engine.dispose()
    eml = receipts()
    senders = [m.sender.lower() for m in everything]
    lost = (sum(1 for m in everything if not stored[m.mid])
            + sum(1 for m in everything if not cases[m.mid])
            + sum(1 for s in senders if not eml[s]))
    duplicates = sum(max(0, eml[s] - 1) for s in senders)
    assert all(cases[m.mid] == 1 for m in everything)
    assert waiting == len(during), "the mails must wait in the inbox while the disk is full"
    assert all(stored[m.mid] == 1 for m in everything)
    assert outbox == Counter({OutboxStatus.SENT: len(everything)})
    did = (f"SYNPUNKT_HOME (24 MB tmpfs) filled: the {waiting} mails that arrived stayed in "
           f"inbox/new; {len(errors)} passes logged `{errors[0].strip()[:160]}`; once space "
           f"was freed all {len(everything)} were stored and answered, {dict(outbox)}")
    return Row("disk full (embedded, SQLite)", did, lost, duplicates)
