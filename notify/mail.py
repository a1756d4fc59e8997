"""Outgoing mail as a value, and its rendering to RFC 5322 bytes.

Subjects, names and ids can carry what a citizen wrote, so every header is
made safe here, whatever its source: one line, no control or bidi characters,
no encoded-word that the e-mail library would decode into a CR/LF (and so
into a header of the citizen's choosing), ids that are plain ASCII. Rendering
never raises: a receipt that cannot be built would block the message it answers.
"""

from __future__ import annotations

import binascii
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.charset import BASE64, Charset
from email.errors import MessageError
from email.header import Header
from email.headerregistry import Address
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
        """RFC 5322 bytes, CRLF line ends. Written directly rather than
        through the e-mail library's generator, which folds every header
        through a ``Header`` and quoted-printable-encodes the body in Python
        (a third of a millisecond a mail): a header that fits on its line is
        written as it is, a longer one is folded by ``Header`` exactly as
        the library would, and the body is encoded by ``binascii``."""
        local, _, domain = self.sender.partition("@")
        recipient = wire_address(self.recipient)
        # A UTF-8 local part (RFC 6532) goes as raw UTF-8: encoded-words are
        # not allowed in an address, and only SMTPUTF8 carries it anyway.
        headers: list[tuple[str, str | Header]] = [
            ("From", formataddr((header_text(self.sender_name), f"{local}@{domain}"),
                                charset="utf-8")),
            ("To", _recipient(recipient) if recipient.isascii() else recipient),
            ("Subject", _header(header_text(self.subject), "Subject")),
            ("Date", format_datetime(self.date)),
            ("Message-ID", (safe_ids([self.message_id]) or [new_message_id(domain)])[0]),
        ]
        in_reply_to = safe_ids([self.in_reply_to] if self.in_reply_to else [])
        if in_reply_to:
            headers.append(("In-Reply-To", in_reply_to[0]))
        refs = safe_ids([*self.references, *in_reply_to])[-20:]
        if refs:
            headers.append(("References", " ".join(refs)))
        headers += [("Auto-Submitted", self.auto_submitted),  # RFC 3834
                    ("X-Auto-Response-Suppress", "All")]  # Exchange: no out-of-office back
        if self.urgent:
            headers += [("Importance", "high"), ("X-Priority", "1 (Highest)"),
                        ("Priority", "urgent")]
        headers += _TEXT_PLAIN_QP
        head = "".join(_header_line(name, value) for name, value in headers)
        # quoted-printable: readable in the raw, safe for 7-bit relays
        lines = self.text.replace("\r\n", "\n").replace("\r", "\n")
        body = binascii.b2a_qp(lines.encode("utf-8", "replace"), istext=True)
        return head.encode("utf-8") + _CRLF + _CRLF.join(body.split(b"\n"))


_CRLF_TEXT = "\r\n"
_CRLF = _CRLF_TEXT.encode()
_MAX_LINE = 78
_TEXT_PLAIN_QP = [("MIME-Version", "1.0"), ("Content-Type", 'text/plain; charset="utf-8"'),
                  ("Content-Transfer-Encoding", "quoted-printable")]
# A plain dot-atom address, which the e-mail library would write back as it is.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def _header_line(name: str, value: str | Header) -> str:
    """One header, CRLF-ended: as it is when it fits (or is not ASCII: only
    a UTF-8 recipient, which must not be folded), otherwise folded as the
    e-mail library's compat32 policy folds it."""
    if isinstance(value, str) and (not value.isascii()
                                   or len(name) + 2 + len(value) <= _MAX_LINE):
        return f"{name}: {value}{_CRLF_TEXT}"
    header = value if isinstance(value, Header) else Header(value, header_name=name)
    return f"{name}: {header.encode(linesep=_CRLF_TEXT, maxlinelen=_MAX_LINE)}{_CRLF_TEXT}"


_UTF8_B = Charset("utf-8")
_UTF8_B.header_encoding = BASE64


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


def _recipient(recipient: str) -> str:
    """Exactly one address (the parser only lets valid ones through; this is
    the last guard, and never raises)."""
    if _PLAIN_ADDRESS.fullmatch(recipient):
        return recipient
    try:
        return str(Address(addr_spec=recipient))
    except (ValueError, IndexError, TypeError, MessageError):
        local, _, domain = _NOT_IN_ADDRESS.sub("", header_text(recipient)).rpartition("@")
        return str(Address(username=local or "okand", domain=domain.replace("@", "") or "invalid"))
