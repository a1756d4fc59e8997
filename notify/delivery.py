"""Transports that deliver a rendered outgoing message.

The embedded mode writes each message as an .eml file; production (SMTP,
SMS) adds transports with the same shape. A transport raises only the
project's TransientError or PermanentError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from config.errors import PermanentError, TransientError

# Called by a transport once, right before the point after which the message
# may have reached its recipient; raises (ClaimLostError, TransientError) to
# stop the attempt before that point.
Commit = Callable[[], None]


class Transport(Protocol):
    # True when sending the same outbox row twice cannot reach the recipient
    # twice (a file overwritten in place); SMTP is not.
    @property
    def idempotent(self) -> bool: ...

    def send(self, outbox_id: int, recipient: str, body: bytes,
             commit: Commit | None = None) -> str | None:
        """Deliver; returns the provider's id for the message where it gives one.
        A transport that is not idempotent calls ``commit`` at its point of no
        return."""
        ...


@dataclass(frozen=True)
class Transports:
    """One transport per channel: an outbox row goes out the way it came in."""

    email: Transport
    sms: Transport | None = None

    def for_channel(self, channel: str) -> Transport:
        if channel == "sms":
            if self.sms is None:
                raise PermanentError("inget sms-konto är inställt (SYNPUNKT_SMS_PROVIDER)")
            return self.sms
        return self.email


class FileTransport:
    """Writes ``<outbox id>.eml`` into a folder, atomically: a message is
    there whole or not at all, and a retry overwrites rather than doubles."""

    idempotent = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, outbox_id: int, recipient: str, body: bytes,
             commit: Commit | None = None) -> None:
        # Idempotent: a second write of the same file is harmless, so no
        # point of no return to record.
        if recipient.startswith("+"):  # an SMS in the embedded mode: a text file
            return self._write(f"{outbox_id:08d}.sms.txt", body)
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", recipient):
            raise PermanentError("ogiltig mottagaradress")
        return self._write(f"{outbox_id:08d}.eml", body)

    def _write(self, name: str, body: bytes) -> None:
        target = self.folder / name
        tmp = self.folder / f".{name}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:  # disk full, permissions: try again later
            tmp.unlink(missing_ok=True)
            raise TransientError(f"kunde inte skriva {target.name}: {exc.strerror}") from exc
