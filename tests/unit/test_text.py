"""Text decoding and HTML to text."""

from __future__ import annotations

import pytest

from ingest.charset import decode_text
from ingest.htmltext import html_to_text
from ingest.parse import safe_filename


@pytest.mark.parametrize(("data", "charset", "expected"), [
    ("Hämta sopor".encode("latin-1"), "iso-8859-1", "Hämta sopor"),
    ("350 € – “orimligt”".encode("cp1252"), "iso-8859-1", "350 € – “orimligt”"),
    ("Åsa Öberg".encode(), "iso-8859-1", "Åsa Öberg"),  # UTF-8 mislabelled
    ("Åsa Öberg".encode(), "us-ascii", "Åsa Öberg"),
    ("Åsa".encode("cp1252"), None, "Åsa"),
    ("Åsa".encode(), "x-no-such-charset", "Åsa"),
    ("Åsa".encode("utf-16"), "utf-16", "Åsa"),
    (b"a\r\nb\x00c\x07", "utf-8", "a\nbc"),
    (b"\x81\x8d", "iso-8859-1", "\x81\x8d"),  # bytes cp1252 leaves undefined
])
def test_decode_text(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_text(data, charset) == expected


def test_html_to_text_keeps_words_and_drops_code() -> None:
    html = """<html><head><title>T</title><style>p{color:red}</style></head><body>
    <script>alert('x')</script><p>Sn&ouml;n&nbsp;ligger kvar.</p><ul><li>Ett</li><li>Två</li></ul>
    Rad ett<br>Rad två<img src="https://tracker.example/p.gif"><svg><text>hemligt</text></svg>
    </body></html>"""
    text = html_to_text(html)
    assert "Snön ligger kvar." in text
    assert "- Ett" in text
    assert "- Två" in text
    assert "Rad ett\nRad två" in text
    for gone in ("alert", "color", "tracker", "hemligt", "<", "T\n"):
        assert gone not in text


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<p>Hej <b>där</p></div><<<") .startswith("Hej där")


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "_.._etc_passwd"),
    ("faktura\u202egpj.exe", "faktura_gpj.exe"),
    ("rapport\r\nBcc: x.pdf", "rapport Bcc: x.pdf"),
    ("", "bilaga"),
])
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize(("raw", "subject"), [
    ("Subject: Skräp i parken\n".encode(), "Skräp i parken"),  # RFC 6532: raw UTF-8
    ("Subject: Skräp i parken\n".encode("cp1252"), "Skräp i parken"),  # an old mailer
    (b"Subject: =?utf-8?q?Skr=C3=A4p?=\n", "Skräp"),
])
def test_raw_eight_bit_subjects_are_read(raw: bytes, subject: str) -> None:
    from config.settings import Limits
    from ingest.message import Message
    from ingest.parse import parse

    parsed = parse(b"From: anna@example.se\n" + raw + b"\nhej\n", Limits())
    assert isinstance(parsed, Message) and parsed.subject == subject


def test_html_body_is_the_first_html_part() -> None:
    from ingest.parse import html_body

    raw = (b"From: a@example.se\nMIME-Version: 1.0\nContent-Type: multipart/alternative; "
           b"boundary=x\n\n--x\nContent-Type: text/plain\n\nhej\n--x\nContent-Type: text/html; "
           b"charset=utf-8\n\n<p>hej <b>d\xc3\xa5</b></p>\n--x--\n")
    assert html_body(raw) == "<p>hej <b>då</b></p>"
    assert html_body(b"From: a@example.se\n\nbara text\n") is None
