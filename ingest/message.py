"""The parsed form of one inbound message, shared by every later step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBFORM = "webform"
    # Written down by staff (ingest/by_hand.py): a letter by post, a phone
    # call, a visit, a complaint made in person.
    BREV = "brev"
    TELEFON = "telefon"
    BESOK = "besok"
    MUNTLIG = "muntlig"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    # None when the attachment exceeded the size limit; the raw message
    # still holds it, so nothing is lost.
    content: bytes | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class AttachedMessage:
    """A message inside the one received (message/rfc822): a forward."""

    sender: str | None
    display_name: str | None
    subject: str
    date: datetime | None
    text: str
    as_attachment: bool  # marked as an attachment (a forward "as attachment")


@dataclass(frozen=True, slots=True)
class Message:
    """One citizen message, as the pure steps see it. Never carries raw bytes."""

    channel: Channel
    sender: str | None  # lower-case e-mail address or E.164 number
    display_name: str | None
    subject: str
    text: str
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    date: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()
    # Headers the screen looks at, lower-case names, decoded values.
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain"
    return_path: str | None = None
    reply_to: str | None = None
    # Every content type in the message's tree (a delivery report anywhere).
    part_types: tuple[str, ...] = ()
    # Parts that could not be read ("image/jpeg: ogiltiga tecken i base64"):
    # skipped, the rest read; the raw bytes keep them.
    broken: tuple[str, ...] = ()
    attached_messages: tuple[AttachedMessage, ...] = ()
    # Addresses a bounce says could not be reached (flufl.bounce).
    bounce_recipients: tuple[str, ...] = ()
    # Set when a member of staff forwarded a citizen's mail: who did.
    forwarded_by: str | None = None
    forward_note: str = ""

    @property
    def readable(self) -> bool:
        """Is there anything a person can read: text, a subject or an attachment?"""
        return bool(self.text.strip() or self.subject.strip() or self.attachments)

    @property
    def answer_by(self) -> str | None:
        """How the sender is answered: "email" (an address), "sms" (a number)
        or None (anonymous). Mail and SMS answer on their own channel; a
        message written down by staff, wherever the person left contact."""
        if self.sender is None:
            return None
        return "email" if "@" in self.sender else "sms"

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k == lname), None)


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Input that cannot become a Message; stored with its raw bytes for a person."""

    code: str  # machine reason, e.g. "bad-base64"
    detail: str  # a short explanation in Swedish for the registrator

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"
