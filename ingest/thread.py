"""Which existing case a message may be a reply to: the pure half of threading.

A reply names its case by the diarienummer tag kept in the subject, or by
In-Reply-To/References naming a Message-ID we sent. The case register
resolves these references; this module only reads them off the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.message import Message


@dataclass(frozen=True, slots=True)
class ThreadRefs:
    diarienummer: tuple[str, ...]
    message_ids: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.diarienummer or self.message_ids)


def format_diarienummer(prefix: str, year: int, number: int) -> str:
    return f"{prefix} {year}/{number:04d}"


def diarienummer_in(text: str, prefix: str) -> tuple[str, ...]:
    """Every diarienummer of the kommun's series named in ``text``, in order."""
    pattern = re.compile(rf"(?<![\w]){re.escape(prefix)}[\s\-]*(\d{{4}})\s*/\s*(\d{{1,6}})\b",
                         re.IGNORECASE)
    return tuple(dict.fromkeys(
        format_diarienummer(prefix.upper(), int(y), int(n)) for y, n in pattern.findall(text)
    ))


def thread_refs(message: Message, prefix: str) -> ThreadRefs:
    """Mail: the tag in the subject and the Message-IDs; SMS: a diarienummer
    anywhere in the text (an SMS has no subject and no headers)."""
    numbers = diarienummer_in(message.text if message.channel == "sms" else message.subject,
                              prefix)
    ids = tuple(dict.fromkeys(
        i for i in (message.in_reply_to, *reversed(message.references)) if i
    ))
    return ThreadRefs(numbers, ids)
