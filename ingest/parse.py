"""Raw bytes -> Message, or Quarantine with the reason. Never raises.

The stdlib parser builds the message tree with its size, parts and depth
bounded (ingest.bounded); mail-parser then does the MIME walk, addresses,
attachments and most defects on that tree, and the tree itself is asked for
what mail-parser misses (bad base64, text before a wrong boundary). Text
parts are decoded here so that a message labelled ISO-8859-1 is read as cp1252.
"""

from __future__ import annotations

import base64
import binascii
import email.errors
import email.header
import email.headerregistry
import email.message
import email.utils
import re
import string
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime

import mailparser

from config.settings import Limits
from ingest.bounded import StructureRefused, parse_bounded, too_large
from ingest.charset import clean_text, decode_text
from ingest.htmltext import html_to_text
from ingest.message import Attachment, Channel, Message, Quarantine

_MSGID = re.compile(r"<[^<>\s]+>")
_WS = re.compile(r"\s+")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_UNSAFE_NAME = re.compile(r"[/\\]")
# Control, format (bidi overrides, zero-width), surrogate and line-separator
# characters: in a file name they hide or reorder what a person reads.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_KNOWN_HEADERS = ("from", "to", "subject", "date", "message-id", "received", "mime-version")
_QUARANTINE_DEFECTS: dict[type[email.errors.MessageDefect], tuple[str, str]] = {
    email.errors.StartBoundaryNotFoundDefect: (
        "broken-boundary", "MIME-gränsen i Content-Type finns inte i meddelandet"),
    email.errors.MultipartInvariantViolationDefect: (
        "broken-boundary", "meddelandet säger sig ha flera delar men har inga"),
    email.errors.InvalidBase64CharactersDefect: (
        "bad-base64", "en base64-kodad del innehåller ogiltiga tecken"),
    email.errors.InvalidBase64LengthDefect: (
        "bad-base64", "en base64-kodad del har fel längd"),
}


def parse(raw: bytes, limits: Limits, channel: Channel = Channel.EMAIL) -> Message | Quarantine:
    """Parse one raw e-mail. Anything unusable comes back as a Quarantine."""
    try:
        return _parse(raw, limits, channel)
    except Exception as exc:  # the parser must never take the queue down
        return Quarantine("parse-error", f"meddelandet kunde inte tolkas ({type(exc).__name__})")


def _parse(raw: bytes, limits: Limits, channel: Channel) -> Message | Quarantine:
    # Size first, and without copying the bytes (no strip(), no lower()).
    refused = too_large(len(raw), limits)
    if refused is not None:
        return Quarantine(refused.code, refused.detail)
    if not raw or raw.isspace():
        return Quarantine("empty", "filen är tom")
    try:
        msg = parse_bounded(raw, limits)
        parsed = mailparser.MailParser(msg)
    except StructureRefused as exc:
        return Quarantine(exc.code, exc.detail)
    except RecursionError:
        return Quarantine("too-deep", "meddelandets delar är nästlade för djupt för att kunna "
                          "läsas")
    if not any(msg.get(name) is not None for name in _KNOWN_HEADERS):
        return Quarantine("unreadable-headers", "meddelandet saknar läsbara brevhuvuden")

    text_parts, html_parts = _body_parts(msg)
    for part in msg.walk():  # decoding registers base64 defects on the part
        if not part.is_multipart():
            part.get_payload(decode=True)
    defects = sorted({type(d).__name__ for part in msg.walk() for d in part.defects})
    for part in msg.walk():
        for defect in part.defects:
            if type(defect) in _QUARANTINE_DEFECTS:
                return Quarantine(*_QUARANTINE_DEFECTS[type(defect)])

    sender, display_name = _sender(parsed.from_, msg)
    if sender is None:
        return Quarantine("no-sender", "meddelandet saknar avsändare (From)")

    text = "\n\n".join(t for t in text_parts if t.strip())
    if not text.strip() and html_parts:
        text = "\n\n".join(html_to_text(h) for h in html_parts)
    text = text.strip()
    if len(text) > limits.text_chars:
        text = text[: limits.text_chars] + "\n[…texten är avkortad; hela meddelandet finns sparat]"
        defects.append("TextTruncated")

    return Message(
        channel=channel,
        sender=sender,
        display_name=display_name,
        subject=_one_line(_header(msg, "subject") or "")[:500],
        text=text,
        message_id=_first_id(_header(msg, "message-id")),
        in_reply_to=_first_id(_header(msg, "in-reply-to")),
        references=tuple(_MSGID.findall(_header(msg, "references") or "")),
        date=_date(_header(msg, "date")),
        attachments=tuple(_attachments(parsed.attachments, limits)),
        defects=tuple(defects),
        headers=tuple(_headers(msg)),
        content_type=msg.get_content_type(),
        return_path=_header(msg, "return-path"),
    )


def _body_parts(msg: email.message.Message) -> tuple[list[str], list[str]]:
    plain: list[str] = []
    html: list[str] = []
    for part in _inline_text_parts(msg):
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        text = decode_text(data, part.get_content_charset())
        (html if part.get_content_subtype() == "html" else plain).append(text)
    return plain, html


def _inline_text_parts(msg: email.message.Message) -> Iterator[email.message.Message]:
    """Body text parts: text/plain or text/html, not attachments, not inside one."""
    stack = [msg]
    while stack:
        part = stack.pop(0)
        if part.get_content_disposition() == "attachment" or part.get_filename():
            continue
        if part.is_multipart():
            if part.get_content_type() == "message/rfc822":
                continue
            stack[0:0] = _children(part)
        elif part.get_content_type() in ("text/plain", "text/html"):
            yield part


def _children(part: email.message.Message) -> list[email.message.Message]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    return [p for p in payload if isinstance(p, email.message.Message)]


def _sender(
    from_: list[tuple[str, str]], msg: email.message.Message
) -> tuple[str | None, str | None]:
    candidates = list(from_ or [])
    if not any(addr for _, addr in candidates):
        candidates = email.utils.getaddresses([_header(msg, "sender") or ""])
    for raw_name, raw_addr in candidates:
        # ASCII letters only: str.lower() maps the Kelvin sign to "k", and a
        # lookalike domain must never be folded into ours.
        addr = (raw_addr or "").strip().translate(_ASCII_LOWER)
        if "@" in addr and not _WS.search(addr) and _addr_spec(addr):
            return addr, _one_line(clean_text(raw_name or "")).strip('"').strip() or None
    return None, None


def _addr_spec(addr: str) -> bool:
    """One syntactically valid address and nothing else, so that a receipt's
    To: names exactly this person (no second address, no group, no controls)."""
    if any(unicodedata.category(c) in _HIDDEN_CATEGORIES for c in addr):
        return False
    try:
        email.headerregistry.Address(addr_spec=addr)
    except (ValueError, IndexError, TypeError, email.errors.HeaderParseError):
        return False
    return True


def _header(msg: email.message.Message, name: str) -> str | None:
    value: object = msg.get(name)
    if value is None:
        return None
    if isinstance(value, email.header.Header):  # raw 8-bit bytes (RFC 6532 UTF-8 headers)
        value = _eight_bit(value)
    try:
        decoded = str(email.header.make_header(email.header.decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError, ValueError):
        decoded = str(value)
    return clean_text(decoded.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _eight_bit(header: email.header.Header) -> str:
    """A header sent as raw 8-bit bytes: UTF-8 (RFC 6532) where it decodes,
    else the Windows code page older mailers use; encoded-words stay for later."""
    out = []
    for chunk, charset in email.header.decode_header(header):
        if isinstance(chunk, bytes):
            out.append(decode_text(chunk, None if charset == "unknown-8bit" else charset))
        else:
            out.append(chunk)
    return "".join(out)


def _headers(msg: email.message.Message) -> Iterator[tuple[str, str]]:
    for name in list(msg.keys())[:300]:
        value = _header(msg, name)
        if value is not None:
            yield name.lower(), _one_line(value)[:2000]


def _one_line(value: str) -> str:
    """Header text on one line: CR/LF and runs of white space become one space."""
    return _WS.sub(" ", value).strip()


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    return found.group(0) if found else None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _attachments(items: list[dict[str, object]], limits: Limits) -> Iterator[Attachment]:
    for item in items:
        payload = item.get("payload") or ""
        if not isinstance(payload, str):
            continue
        try:
            data = base64.b64decode(payload) if item.get("binary") else payload.encode()
        except (binascii.Error, ValueError):
            data = payload.encode("utf-8", "replace")
        yield Attachment(
            filename=safe_filename(str(item.get("filename") or "bilaga")),
            content_type=str(item.get("mail_content_type") or "application/octet-stream"),
            size=len(data),
            content=data if len(data) <= limits.attachment_bytes else None,
        )


def safe_filename(name: str) -> str:
    """A file name that cannot traverse paths or hide its extension: control,
    bidi (U+202E right-to-left override, as in ``faktura\u202efdp.exe``),
    zero-width and separator characters become ``_``, so what a registrator
    reads is what the file is (``faktura_fdp.exe``)."""
    shown = "".join("_" if unicodedata.category(c) in _HIDDEN_CATEGORIES else c
                    for c in _one_line(name))
    cleaned = _UNSAFE_NAME.sub("_", shown).strip(". ")
    return cleaned[:200] or "bilaga"


def html_body(raw: bytes) -> str | None:
    """The message's first text/html body part, decoded; None when it has none
    or cannot be read. For showing the original (sanitised) to a person."""
    try:
        msg = email.message_from_bytes(raw)
        _plain, html = _body_parts(msg)
    except Exception:  # a message the pipeline quarantined may not parse at all
        return None
    return html[0] if html else None
