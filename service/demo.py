"""Sample mail for ``synpunkt demo``: the shipped demo messages, dated now."""

from __future__ import annotations

import email.utils
import os
import re
import time
import uuid
from datetime import datetime
from pathlib import Path

from config.settings import SHIPPED_CONFIG

DEMO_FOLDER = SHIPPED_CONFIG / "demo"
_HEADER = re.compile(rb"^(Message-ID|Date):[^\n]*\n", re.IGNORECASE | re.MULTILINE)


def fresh(raw: bytes, now: datetime) -> bytes:
    """The same mail with a new Message-ID and Date, as if it arrived now."""
    head, sep, body = raw.partition(b"\n\n")
    head = _HEADER.sub(b"", head + b"\n").rstrip(b"\n")
    stamp = email.utils.format_datetime(now).encode()
    new_id = f"<demo.{uuid.uuid4().hex}@invånare.example>".encode()
    return b"Date: " + stamp + b"\nMessage-ID: " + new_id + b"\n" + head + sep + body


def drop_samples(inbox: Path, now: datetime) -> list[Path]:
    """Deliver the demo mails into the Maildir ``new/`` folder the way an MDA
    does (write to tmp/, rename into new/)."""
    written: list[Path] = []
    for i, sample in enumerate(sorted(DEMO_FOLDER.glob("*.eml")), 1):
        key = f"{time.time_ns()}.demo{i:02d}P{os.getpid()}.synpunkt"
        tmp = inbox / "tmp" / key
        tmp.write_bytes(fresh(sample.read_bytes(), now))
        target = inbox / "new" / key
        os.replace(tmp, target)
        written.append(target)
    return written
