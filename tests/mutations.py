"""Mutations of the project's fixture mails, and the invariant the fuzzers
check on each: the hypothesis test (tests/unit/test_hostile.py) and the
atheris job (benchmarks/fuzz.py) share both."""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.hostile import FIXTURES, OWN_DOMAIN, b_word, q_word

if TYPE_CHECKING:
    from config.kommun import Kommun


def seed_mails() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]


def _flip(data: bytes, rnd: random.Random) -> bytes:
    if not data:
        return data
    i = rnd.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rnd.randrange(8))]) + data[i + 1:]


def _truncate(data: bytes, rnd: random.Random) -> bytes:
    return data[: rnd.randrange(len(data) + 1)]


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        head, sep, body = data.partition(b"\r\n\r\n")
    return head.splitlines(keepends=True), sep + body


def _dup_header(data: bytes, rnd: random.Random) -> bytes:
    lines, rest = _split(data)
    if not lines:
        return data
    i = rnd.randrange(len(lines))
    return b"".join([*lines[:i + 1], lines[i], *lines[i + 1:]]) + rest


def _drop_header(data: bytes, rnd: random.Random) -> bytes:
    lines, rest = _split(data)
    if not lines:
        return data
    i = rnd.randrange(len(lines))
    return b"".join(lines[:i] + lines[i + 1:]) + rest


def _garble_boundary(data: bytes, rnd: random.Random) -> bytes:
    at = data.find(b"--")
    if at < 0:
        return data.replace(b"text/plain", b"multipart/mixed; boundary=\"x\"", 1)
    junk = rnd.choice([b"", b"--", b"\r\n", b"\x00", b"b\xff", b"-" * 80])
    return data[:at] + junk + data[at + rnd.randrange(1, 6):]


_WORDS = [b_word("Anna\r\nBcc: x@y.example"), q_word("\u202eexe.pdf"), "=?x-unknown?q?abc?=",
          "=?utf-8?b?!!!?=", "=?utf-8?q?=FF=FE?=", "=?iso-8859-1?q?=E5=E4=F6?=", "\r\n\t",
          "=?utf-8?b?" + "QUFB" * 500 + "?=", "\x00", "\u2028"]


def _encoded_word(data: bytes, rnd: random.Random) -> bytes:
    lines, rest = _split(data)
    if not lines:
        return data
    i = rnd.randrange(len(lines))
    word = rnd.choice(_WORDS).encode("utf-8", "surrogatepass")
    line = lines[i].rstrip(b"\r\n")
    return b"".join([*lines[:i], line + b" " + word + b"\r\n", *lines[i + 1:]]) + rest


def _insert_crlf(data: bytes, rnd: random.Random) -> bytes:
    i = rnd.randrange(len(data) + 1)
    junk = rnd.choice([b"\r\n", b"\r", b"\n", b"\r\n\r\n", b"\r\nBcc: a@b\r\n"])
    return data[:i] + junk + data[i:]


_CHARSETS = [b"unicode-escape", b"raw-unicode-escape", b"rot13", b"zlib", b"base64", b"utf-7",
             b"utf-16", b"utf-32-be", b"idna", b"punycode", b"x-unknown", b"\"\"", b"cp037"]


def _charset(data: bytes, rnd: random.Random) -> bytes:
    """A part labelled with a codec that is not a character set, or an odd one."""
    at = data.lower().find(b"charset=")
    if at < 0:
        return data
    end = at + 8
    while end < len(data) and data[end:end + 1] not in b"; \r\n":
        end += 1
    return data[:at + 8] + rnd.choice(_CHARSETS) + data[end:]


MUTATIONS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    _flip, _truncate, _dup_header, _drop_header, _garble_boundary, _encoded_word, _insert_crlf,
    _charset)


def mutate(data: bytes, rnd: random.Random, rounds: int = 3) -> bytes:
    for _ in range(rnd.randint(1, rounds)):
        data = rnd.choice(MUTATIONS)(data, rnd)
    return data


def mutants(count: int, seed: int = 9) -> Iterator[bytes]:
    rnd = random.Random(seed)
    seeds = seed_mails()
    for _ in range(count):
        yield mutate(rnd.choice(seeds), rnd)


# --- the invariant the fuzzers check ------------------------------------------------------

RECEIPT_HEADERS = frozenset({
    b"from", b"to", b"subject", b"date", b"message-id", b"auto-submitted",
    b"x-auto-response-suppress", b"mime-version", b"content-type", b"content-transfer-encoding"})
_SAFE_ID = re.compile(r"<[!-;=?-~]{1,250}>")
_OWN = frozenset({f"synpunkter@{OWN_DOMAIN}", f"registrator@{OWN_DOMAIN}"})


def check_one(raw: bytes) -> str:
    """Parse, screen and (for a message with a sender) render and re-read the
    mottagningsbevis; raises AssertionError when an invariant breaks, and
    returns what the input became ("quarantine", "screened", "message")."""
    from config.settings import Limits
    from ingest.message import Message, Quarantine
    from ingest.parse import parse
    from ingest.screen import Context, Screened, screen
    from notify.receipt import render_receipt

    result = parse(raw, Limits())
    if isinstance(result, Quarantine):
        assert result.code and result.detail, result
        return "quarantine"
    assert isinstance(result, Message), type(result)
    stored = [result.subject, result.text, result.display_name or "", result.sender or "",
              result.message_id or "", *result.references,
              *(a.filename for a in result.attachments), *(v for _k, v in result.headers)]
    for value in stored:  # what the database stores must be valid Unicode
        value.encode("utf-8")
    verdict = screen(result, Context(OWN_DOMAIN, _OWN))
    assert verdict is None or isinstance(verdict, Screened), verdict
    if result.sender is None:
        return "screened" if verdict else "message"
    out = render_receipt(_kommun(), result, "EKBY 2026/0042", [], _NOW).to_bytes()
    head = out.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"") and b"\r" not in head.replace(b"\r\n", b"")
    names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")
             if line[:1] not in (b" ", b"\t")]
    ids = bool(result.message_id and _SAFE_ID.fullmatch(result.message_id))
    refs = ids or any(_SAFE_ID.fullmatch(r) for r in result.references)
    expected = RECEIPT_HEADERS | ({b"in-reply-to"} if ids else set()) | (
        {b"references"} if refs else set())
    assert sorted(names) == sorted(expected), names
    return "screened" if verdict else "message"


_NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@functools.cache
def _kommun() -> Kommun:
    from config.kommun import load_kommun
    from config.settings import SHIPPED_CONFIG

    return load_kommun(SHIPPED_CONFIG)
