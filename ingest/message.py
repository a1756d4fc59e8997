"""The parsed form of one inbound message, shared by every later step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBFORM = "webform"
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
