"""The real-mail yardstick: ``../shared/realmail/`` (1,101 messages real
mail systems produced, from public test corpora, with ``truth.tsv`` saying
what each is). Read where it lies, never copied into the project; CI has
``../shared`` beside the checkout.

``oracle_words`` is the independent measure of a person's readable text: the
words of every text/plain part not marked as an attachment (attached
messages included), read by the stdlib's modern e-mail API rather than by
Synpunkt's parser; HTML-only mail by its tags stripped.
"""

from __future__ import annotations

import csv
import email
import email.message
import email.policy
import html
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "realmail"
_WORD = re.compile(r"[^\W\d_]{4,}")
_TAGS = re.compile(r"<[^>]*>")
_INVISIBLE = re.compile(r"(?is)<(style|script|head|title)[^>]*>.*?</\1>")
KINDS = ("human", "bounce", "autoreply", "list", "spam", "malformed")


@dataclass(frozen=True, slots=True)
class RealMail:
    file: str
    kind: str
    detail: str
    raw: bytes


def corpus() -> list[RealMail]:
    if not (ROOT / "truth.tsv").is_file():
        pytest.fail(f"the real-mail corpus is needed at {ROOT} (../shared beside the checkout)")
    with open(ROOT / "truth.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [RealMail(r["file"], r["kind"], r["detail"], (ROOT / "mail" / r["file"]).read_bytes())
            for r in rows]


def words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def oracle_words(raw: bytes) -> set[str]:
    """The words a person can read in the mail's body text."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    plain: set[str] = set()
    markup: set[str] = set()
    for part in msg.walk():
        if part.get_content_maintype() != "text" or part.get_content_disposition() == "attachment":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        content = _as_read(payload, part.get_content_charset())
        if part.get_content_subtype() == "plain":
            plain |= words(content)
        elif part.get_content_subtype() == "html":
            markup |= words(html.unescape(_TAGS.sub(" ", _INVISIBLE.sub(" ", content))))
    return plain or markup


def _as_read(data: bytes, charset: str | None) -> str:
    """The declared charset where the bytes are valid in it and it says
    more than ASCII; else UTF-8, else Windows-1252 (what mailers send)."""
    for codec in (charset if charset not in (None, "us-ascii") else None, "utf-8", "cp1252"):
        if codec:
            try:
                return data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("latin-1")


def with_another_received(raw: bytes) -> bytes:
    """The same mail as delivered by a second route: one more Received header."""
    line = (b"Received: from relay2.ekby.example (relay2.ekby.example [192.0.2.26])\r\n"
            b"\tby mail.ekby.example (Postfix) with ESMTPS id 7A1B2C3D4E;\r\n"
            b"\tFri, 4 Dec 2026 09:00:00 +0100 (CET)\r\n")
    return line + raw


SPAM_VERDICT = re.compile(
    rb"^(X-Spam-Flag:\s*yes|X-Spam-Status:\s*yes|X-Spam:\s*yes|X-Spamd-Result:\s*default:\s*true)",
    re.IGNORECASE | re.MULTILINE)


def marked_as_spam(raw: bytes) -> bool:
    """Does the mail carry a spam filter's verdict in its own headers?"""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    return SPAM_VERDICT.search(head) is not None
