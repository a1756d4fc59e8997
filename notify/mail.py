"""Outgoing mail as a value, and its rendering to RFC 5322 bytes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from ingest.screen import OWN_MESSAGE_ID_PREFIX


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
        msg = EmailMessage(policy=SMTP)
        local, _, domain = self.sender.partition("@")
        msg["From"] = Address(self.sender_name, local, domain)
        msg["To"] = self.recipient
        msg["Subject"] = " ".join(self.subject.split())  # never a CR/LF in a header
        msg["Date"] = format_datetime(self.date)
        msg["Message-ID"] = self.message_id
        if self.in_reply_to:
            msg["In-Reply-To"] = self.in_reply_to
        refs = [*self.references, *([self.in_reply_to] if self.in_reply_to else [])]
        if refs:
            msg["References"] = " ".join(dict.fromkeys(refs))
        msg["Auto-Submitted"] = self.auto_submitted  # RFC 3834
        msg["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back
        if self.urgent:
            msg["Importance"] = "high"
            msg["X-Priority"] = "1 (Highest)"
            msg["Priority"] = "urgent"
        msg.set_content(self.text, charset="utf-8", cte="quoted-printable")
        return msg.as_bytes()
