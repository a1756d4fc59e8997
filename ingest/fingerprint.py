"""One mail, however often it comes: its fingerprint.

The same mail delivered twice (by two routes, by a forward rule beside the
mailbox, fetched again after a UIDVALIDITY change) differs in its
``Received:`` headers and so in its bytes, never in what its writer sent:
its Message-ID (or, for mail without one, its date), sender, subject, text
and attachments. The Message-ID alone is not enough: some web forms and
mailers give every mail the same one, and the real-mail corpus holds
different mails from one sender under one Message-ID. Pure: the case
register keeps which inbound row holds each fingerprint first.
"""

from __future__ import annotations

import hashlib
import re

from ingest.message import Message

_WS = re.compile(r"\s+")


def fingerprint(message: Message) -> str:
    sender = message.sender or (message.header("from") or "").strip().lower()
    when = (message.message_id or "").strip() or (
        message.date.isoformat() if message.date is not None else "")
    files = ",".join(f"{a.filename}:{a.size}" for a in message.attachments)
    basis = "\0".join((when, sender, _normal(message.subject), _normal(message.text), files))
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def _normal(text: str) -> str:
    return _WS.sub(" ", text).strip().casefold()
