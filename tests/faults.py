"""What the fault tests share (tests/integration/test_faults.py on the
production path, tests/integration/test_full_disk.py in the embedded mode):
citizen and automatic mails made from the fixtures, receipts counted per
recipient, and the table of faults in tests/artifacts/faults.md."""

from __future__ import annotations

import email
import email.policy
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support import FIXTURES, manifest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PER_SLOT = 2  # citizen mails before, during and after each fault


@dataclass(frozen=True)
class Mail:
    mid: str
    citizen: bool
    sender: str
    raw: bytes


@dataclass(frozen=True)
class Row:
    fault: str
    did: str
    lost: int
    duplicates: int


def make_mails(tag: str, slot: str, n: int, automatic: int = 0) -> list[Mail]:
    """n citizen mails from the fixtures with their own sender and Message-ID,
    and `automatic` automatic ones (out-of-office, bounce …)."""
    entries = manifest()
    citizens = [e for e in entries if e["expect"] == "case" and e["sender"]]
    robots = [e for e in entries if e["expect"] == "ignored"]
    out = []
    for i in range(n):
        e = citizens[(zlib.crc32(tag.encode()) + i) % len(citizens)]
        sender, mid = f"{tag}.{slot}{i}@example.se", f"<fault-{tag}-{slot}{i}@example.se>"
        raw = (FIXTURES / e["file"]).read_bytes().replace(e["sender"].encode(), sender.encode())
        out.append(Mail(mid, True, sender, _with_id(raw, mid)))
    for i in range(automatic):
        e = robots[i % len(robots)]
        mid = f"<fault-{tag}-{slot}a{i}@example.net>"
        out.append(Mail(mid, False, e["sender"], _with_id((FIXTURES / e["file"]).read_bytes(),
                                                          mid)))
    return out


def _with_id(raw: bytes, mid: str) -> bytes:
    raw, n = re.subn(rb"(?im)^Message-ID:[^\n]*", f"Message-ID: {mid}".encode(), raw, count=1)
    return raw if n else f"Message-ID: {mid}\n".encode() + raw


def write_table(rows: list[Row]) -> None:
    """Print the rows and put them into tests/artifacts/faults.md, replacing
    earlier rows of the same faults (each test writes its own)."""
    head = ("| fault | what the system did | messages lost | duplicate receipts |\n"
            "|---|---|---|---|\n")
    lines = [f"| {r.fault} | {r.did} | {r.lost} | {r.duplicates} |\n" for r in rows]
    print("\n" + head + "".join(lines))
    target = ARTIFACTS / "faults.md"
    ARTIFACTS.mkdir(exist_ok=True)
    old = target.read_text("utf-8").splitlines(keepends=True) if target.exists() else []
    kept = [line for line in old[2:]
            if line.startswith("| ") and not any(line.startswith(f"| {r.fault} |") for r in rows)]
    target.write_text(head + "".join(kept + lines), "utf-8")


def receipt_recipients(raws: Iterable[bytes]) -> Counter[str]:
    """Receipts (Auto-Submitted: auto-replied) among the messages, per recipient."""
    out = Counter[str]()
    for raw in raws:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if msg["Auto-Submitted"] == "auto-replied":
            out[str(msg["To"]).lower()] += 1
    return out
