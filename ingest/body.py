"""A message's parts, read one by one: its body text, its attachments, the
messages attached to it, the content types it holds, and what in it is
broken. A broken part is listed and skipped (the raw bytes keep it); the
rest is still read, so a person's text is never lost to a bad image.

- Text parts are body text unless marked as attachments; one with a file
  name but no disposition is body text only where the message has no
  other (old mailers name every part).
- A message/rfc822 part is an attached message: its own text is read too,
  and is the body where the outer message has none (a forward as an
  attachment, or a message that is nothing but the forwarded one).
- A multipart whose boundary is missing, or a part that is not what its
  type says, is read as text when its bytes are text.
"""

from __future__ import annotations

import binascii
import contextlib
import email.errors
import email.header
import email.message
import email.utils
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from config.settings import Limits
from ingest.address import HIDDEN_CATEGORIES, first_address, one_line
from ingest.charset import clean_text, decode_text
from ingest.htmltext import html_to_text
from ingest.message import AttachedMessage, Attachment

_UNSAFE_NAME = re.compile(r"[/\\]")
_BROKEN = {
    email.errors.StartBoundaryNotFoundDefect: "MIME-gränsen finns inte",
    email.errors.MultipartInvariantViolationDefect: "flerdelad utan delar",
    email.errors.InvalidBase64CharactersDefect: "ogiltiga tecken i base64",
    email.errors.InvalidBase64LengthDefect: "fel längd på base64",
    email.errors.InvalidBase64PaddingDefect: "fel utfyllnad i base64",
    email.errors.CloseBoundaryNotFoundDefect: "slutgränsen saknas",
}


@dataclass
class Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    named_plain: list[str] = field(default_factory=list)  # text with a file name, no disposition
    attachments: list[Attachment] = field(default_factory=list)
    inner: list[AttachedMessage] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def own_text(self) -> str:
        """The body text: plain parts, else (named plain, else) the HTML as text."""
        for texts in (self.plain, self.named_plain):
            joined = "\n\n".join(t for t in texts if t.strip())
            if joined.strip():
                return joined.strip()
        return "\n\n".join(html_to_text(h) for h in self.html).strip()

    def text(self) -> str:
        """The body text, followed by the text of each attached message."""
        parts = [self.own_text()]
        for inner in self.inner:
            if inner.text.strip():
                parts.append(forwarded_block(inner))
        return "\n\n".join(p for p in parts if p).strip()


def read_body(msg: email.message.Message, limits: Limits) -> Body:
    body = Body()
    _walk(msg, body, limits, top=True)
    return body


def _walk(part: email.message.Message, body: Body, limits: Limits, *, top: bool = False) -> None:
    ctype = part.get_content_type()
    body.types.append(ctype)
    _note_defects(part, body)
    disposition = part.get_content_disposition()
    if ctype in _REPORTS:
        return  # a report's machine part: kept in the raw bytes, read by the screen
    if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_multipart()):
        for inner in _children(part):
            _read_inner(inner, body, limits, disposition == "attachment" and not top)
            if not top:  # the forwarded mail itself, to open or download
                _attach_message(part, inner, body, limits)
        return
    if part.is_multipart():
        for child in _children(part):
            _walk(child, body, limits)
        return
    data = _payload(part, body)
    if ctype.startswith("multipart/"):  # its boundary is missing
        repaired = _with_found_boundary(part, data or b"")
        if repaired is not None:
            for child in _children(repaired):
                _walk(child, body, limits)
        elif data:  # no boundary to be found either: the whole body is its text
            body.plain.append(decode_text(data, part.get_content_charset()))
        return
    if ctype in ("text/plain", "text/html") and disposition != "attachment":
        text = decode_text(data or b"", part.get_content_charset())
        if ctype == "text/html":
            body.html.append(text)
        elif part.get_filename() and disposition is None:
            body.named_plain.append(text)
        else:
            body.plain.append(text)
        return
    if ctype.startswith("text/") and disposition != "attachment" and not part.get_filename():
        return  # text of another kind (text/calendar, text/x-vcard): kept in the raw bytes
    if data is None and not part.get_payload():
        return
    content = data or b""
    body.attachments.append(Attachment(
        filename=_filename(part), content_type=ctype, size=len(content),
        content=content if len(content) <= limits.attachment_bytes else None))


_REPORTS = frozenset({"message/delivery-status", "message/feedback-report",
                      "message/disposition-notification", "text/rfc822-headers",
                      "message/global-delivery-status", "message/global-headers",
                      "message/global-disposition-notification"})


def forwarded_block(inner: AttachedMessage) -> str:
    """An attached message as a person reads it below the text it came with."""
    who = inner.sender or "okänd avsändare"
    if inner.display_name:
        who = f"{inner.display_name} <{who}>"
    head = [f"Från: {who}"]
    if inner.date is not None:
        head.append(f"Datum: {inner.date.isoformat(' ', 'minutes')}")
    if inner.subject:
        head.append(f"Ämne: {inner.subject}")
    return "----- Bifogat meddelande -----\n" + "\n".join(head) + "\n\n" + inner.text


def _read_inner(msg: email.message.Message, body: Body, limits: Limits,
                as_attachment: bool) -> None:
    inner = Body()
    _walk(msg, inner, limits)
    body.types.extend(inner.types)
    body.broken.extend(inner.broken)
    body.attachments.extend(inner.attachments)
    body.inner.extend(inner.inner)
    sender, name = first_address(header(msg, "from"), header(msg, "sender"))
    body.inner.append(AttachedMessage(sender, name,
                                      one_line(header(msg, "subject") or "")[:500],
                                      parse_date(header(msg, "date")), inner.own_text(),
                                      as_attachment))


def _attach_message(part: email.message.Message, inner: email.message.Message, body: Body,
                    limits: Limits) -> None:
    try:
        content = inner.as_bytes()
    except (ValueError, TypeError, LookupError, UnicodeError):
        body.broken.append("message/rfc822: kunde inte sparas som bilaga")
        return
    name = _filename(part)
    body.attachments.append(Attachment(
        filename=name if name != "bilaga" else "vidarebefordrat.eml",
        content_type="message/rfc822", size=len(content),
        content=content if len(content) <= limits.attachment_bytes else None))


_BOUNDARY_LINE = re.compile(rb"^--([^\s]{1,70})\s*$", re.MULTILINE)


def _with_found_boundary(part: email.message.Message,
                         data: bytes) -> email.message.Message | None:
    """A multipart whose declared boundary is not in its body often uses
    another one (a mailer that rewrote one but not the other): the line
    ``--X`` that recurs, and ends as ``--X--``, is taken as the boundary."""
    for found in _BOUNDARY_LINE.finditer(data):
        token = found.group(1)
        if token.endswith(b"--"):
            continue
        if data.count(b"\n--" + token) + data.startswith(b"--" + token) >= 2:
            head = (f"Content-Type: {part.get_content_type()}; boundary=\""
                    f"{token.decode('ascii', 'replace')}\"\n\n").encode()
            repaired = email.message_from_bytes(head + data)
            return repaired if repaired.is_multipart() and _children(repaired) else None
    return None


def _children(part: email.message.Message) -> list[email.message.Message]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    return [p for p in payload if isinstance(p, email.message.Message)]


def _payload(part: email.message.Message, body: Body) -> bytes | None:
    """The part's decoded bytes, leniently: bad base64 decodes what it can."""
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, binascii.Error):
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else None
        body.broken.append(f"{part.get_content_type()}: kunde inte avkodas")
    _note_defects(part, body)  # decoding registers base64 defects on the part
    if (isinstance(data, bytes) and part.get_content_maintype() == "text"
            and any(isinstance(d, _BAD_BASE64) for d in part.defects)):
        return _lenient_base64(part.get_payload()) or data
    return data if isinstance(data, bytes) else None


_BAD_BASE64 = (email.errors.InvalidBase64CharactersDefect, email.errors.InvalidBase64LengthDefect,
               email.errors.InvalidBase64PaddingDefect)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{4,}={0,2}")


def _lenient_base64(payload: object) -> bytes | None:
    """What can be read of broken base64 text: each run of base64 characters
    decoded on its own, those that make UTF-8 text kept, so that one bad
    line costs that line and not the whole message."""
    if not isinstance(payload, str):
        return None
    out = []
    for run in _BASE64_RUN.findall(payload):
        run = run.rstrip("=")
        run = run[: len(run) - len(run) % 4] if len(run) % 4 == 1 else run
        try:
            chunk = binascii.a2b_base64(run + "=" * (-len(run) % 4))
            text = chunk.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
        if text.strip() and all(c.isprintable() or c in "\n\t\r" for c in text):
            out.append(chunk)
    return b" ".join(out) or None


def _note_defects(part: email.message.Message, body: Body) -> None:
    for defect in part.defects:
        said = _BROKEN.get(type(defect))
        entry = f"{part.get_content_type()}: {said}" if said else None
        if entry and entry not in body.broken:
            body.broken.append(entry)


def _filename(part: email.message.Message) -> str:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, LookupError):
        name = None
    if isinstance(name, str):
        with contextlib.suppress(UnicodeError, LookupError, email.errors.HeaderParseError,
                                 ValueError):
            name = str(email.header.make_header(email.header.decode_header(name)))
    return safe_filename(name or "bilaga")


def header(msg: email.message.Message, name: str, hint: str | None = None) -> str | None:
    """A header's text: encoded words decoded, raw 8-bit bytes read as UTF-8
    (RFC 6532) where they decode, else in ``hint`` (the body's charset,
    which unlabelled headers usually share) or as detected."""
    value: object = msg.get(name)
    if value is None:
        return None
    if isinstance(value, email.header.Header):  # raw 8-bit bytes
        value = _eight_bit(value, hint)
    try:
        decoded = str(email.header.make_header(email.header.decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError, ValueError):
        decoded = str(value)
    return clean_text(decoded.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _eight_bit(value: email.header.Header, hint: str | None) -> str:
    out = []
    for chunk, charset in email.header.decode_header(value):
        if isinstance(chunk, bytes):
            label = None if charset in (None, "unknown-8bit") else charset
            try:
                out.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(decode_text(chunk, label or hint))
        else:
            out.append(chunk)
    return "".join(out)


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def safe_filename(name: str) -> str:
    """A file name that cannot traverse paths or hide its extension: control,
    bidi (U+202E right-to-left override, as in ``faktura\u202efdp.exe``),
    zero-width and separator characters become ``_``, so what a registrator
    reads is what the file is (``faktura_fdp.exe``)."""
    shown = "".join("_" if unicodedata.category(c) in HIDDEN_CATEGORIES else c
                    for c in one_line(name))
    cleaned = _UNSAFE_NAME.sub("_", shown).strip(". ")
    return cleaned[:200] or "bilaga"
