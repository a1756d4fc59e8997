"""Outgoing mail as a value, and its rendering to RFC 5322 bytes.

Subjects, names and ids can carry what a citizen wrote, so every header is
made safe here, whatever its source: one line, no control or bidi characters,
no encoded-word that the e-mail library would decode into a CR/LF (and so
into a header of the citizen's choosing), ids that are plain ASCII. Rendering
never raises: a receipt that cannot be built would block the message it answers.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.charset import BASE64, QP, Charset
from email.errors import MessageError
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.policy import compat32
from email.utils import format_datetime, formataddr

from ingest.screen import OWN_MESSAGE_ID_PREFIX

_MSG_ID = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII, no space, no < >
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NOT_IN_ADDRESS = re.compile(r"[\s,;:<>\"()\[\]\\]")


def new_message_id(domain: str) -> str:
    """A Message-ID that the screen recognises as ours (ingest.screen.own_message_id)."""
    return f"<{OWN_MESSAGE_ID_PREFIX}{uuid.uuid4().hex}@{domain}>"


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    sender_name: str
    sender: str
    recipient: str
    subject: str
    text: str
    message_id: str
    date: datetime
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = True  # a reply to a citizen: counted by the auto-reply limit
    auto_submitted: str = "auto-replied"  # RFC 3834; "auto-generated" for notices
    urgent: bool = False  # Importance: high, for alerts

    def to_bytes(self) -> bytes:
        # The compat32 classes, not EmailMessage's header registry: the same
        # RFC 5322 bytes at a fifth of the cost, which counts at 50 mails/s.
        msg: Message[str, str | Header] = Message()
        local, _, domain = self.sender.partition("@")
        msg["From"] = formataddr((header_text(self.sender_name), f"{local}@{domain}"),
                                 charset="utf-8")
        recipient = wire_address(self.recipient)
        # A UTF-8 local part (RFC 6532) goes as raw UTF-8: encoded-words are
        # not allowed in an address, and only SMTPUTF8 carries it anyway.
        msg["To"] = str(_recipient(recipient)) if recipient.isascii() else _UTF8_TO
        msg["Subject"] = _header(header_text(self.subject), "Subject")
        msg["Date"] = format_datetime(self.date)
        msg["Message-ID"] = (safe_ids([self.message_id]) or [new_message_id(domain)])[0]
        in_reply_to = safe_ids([self.in_reply_to] if self.in_reply_to else [])
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to[0]
        refs = safe_ids([*self.references, *in_reply_to])[-20:]
        if refs:
            msg["References"] = " ".join(refs)
        msg["Auto-Submitted"] = self.auto_submitted  # RFC 3834
        msg["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back
        if self.urgent:
            msg["Importance"] = "high"
            msg["X-Priority"] = "1 (Highest)"
            msg["Priority"] = "urgent"
        msg.set_payload(self.text, _UTF8_QP)  # text/plain; charset="utf-8", quoted-printable
        wire = msg.as_bytes(policy=_WIRE)
        if not recipient.isascii():
            wire = wire.replace(_UTF8_TO.encode(), recipient.encode("utf-8"), 1)
        return wire


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in the raw, safe for 7-bit relays
_UTF8_B = Charset("utf-8")
_UTF8_B.header_encoding = BASE64
_WIRE = compat32.clone(linesep="\r\n", max_line_length=78)


def _header(value: str, name: str) -> Header:
    """``value`` folded, and as RFC 2047 encoded words only when it is not
    ASCII: base64 words (``=?utf-8?b?``), which the e-mail library folds in
    linear time; its default for UTF-8 weighs quoted-printable against
    base64 character by character, a millisecond for a Swedish subject."""
    return Header(value, None if value.isascii() else _UTF8_B, header_name=name)


def header_text(value: str) -> str:
    """``value`` as safe header text: control, line-separator, surrogate and
    bidi characters become spaces, white space runs become one space, and an
    encoded-word opener ``=?`` gets an invisible word joiner so that the e-mail
    library keeps it as text instead of decoding it."""
    chars = (" " if c in _BIDI or unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") else c
             for c in value)
    return " ".join("".join(chars).split())[:900].replace("=?", "=\u2060?")


def safe_ids(values: list[str]) -> list[str]:
    """The message ids among ``values`` that are plain ASCII ``<…>``, once each."""
    return list(dict.fromkeys(v for v in values if _MSG_ID.fullmatch(v)))


_UTF8_TO = "utf8-recipient-placeholder@invalid"


def wire_address(address: str) -> str:
    """The address as it goes over SMTP and in To: a non-ASCII domain in its
    IDNA (xn--) form, so that only a non-ASCII local part needs SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def _recipient(recipient: str) -> Address:
    """Exactly one address (the parser only lets valid ones through; this is
    the last guard, and never raises)."""
    try:
        return Address(addr_spec=recipient)
    except (ValueError, IndexError, TypeError, MessageError):
        local, _, domain = _NOT_IN_ADDRESS.sub("", header_text(recipient)).rpartition("@")
        return Address(username=local or "okand", domain=domain.replace("@", "") or "invalid")
