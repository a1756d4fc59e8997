"""A message a member of staff writes down: a letter that came by post, a
phone call, a visit, a complaint made in person. Every routine names these
ways in (Söderköping: "skriftligt eller muntligt"; Essunga: "Om synpunkten
är muntlig ... skriv ned").

What was written is stored as the inbound row's raw bytes, canonical JSON
(what an .eml file is to mail), and goes the way of every message from there.
An oral complaint is written down only with the person's consent
(Söderköping: "dokumenteras ... av mottagaren efter godkännande från den
enskilde"; Socialnämnden: "först sedan kunden/klienten givit sitt medgivande
till det"), so an entry of an oral channel without it is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from config.errors import PermanentError
from ingest.address import valid_address
from ingest.message import Channel, Message, Quarantine
from ingest.sms.phone import e164

FORMAT = "synpunkt-for-hand/1"
BY_HAND = (Channel.BREV, Channel.TELEFON, Channel.BESOK, Channel.MUNTLIG)
ORAL = (Channel.TELEFON, Channel.BESOK, Channel.MUNTLIG)
SUBJECT_CHARS = 120


class EntryRefusedError(PermanentError, ValueError):
    """What is wrong with an entry, in one Swedish line for the person writing it."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What a member of staff wrote down, and about whom."""

    channel: Channel
    text: str
    taken_by: str  # who wrote it down: "user:eva@ekby.example"
    written_at: datetime
    email: str | None = None  # where the mottagningsbevis goes, or
    phone: str | None = None  # by SMS, or neither: anonymous
    name: str | None = None
    subject: str = ""
    consent: bool = False  # the person agreed to it being written down

    @property
    def sender(self) -> str | None:
        return self.email or self.phone

    def message(self) -> Message:
        """What every later step reads."""
        return Message(channel=self.channel, sender=self.sender, display_name=self.name,
                       subject=self.subject, text=self.text, date=self.written_at)

    def to_raw(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "channel": str(self.channel), "text": self.text,
            "taken_by": self.taken_by, "written_at": self.written_at.astimezone(UTC).isoformat(),
            "email": self.email, "phone": self.phone, "name": self.name,
            "subject": self.subject, "consent": self.consent,
        }, ensure_ascii=False, sort_keys=True).encode("utf-8")


def entry(channel: str, text: str, taken_by: str, written_at: datetime, *,
          email: str | None = None, phone: str | None = None, anonymous: bool = False,
          name: str | None = None, subject: str | None = None,
          consent: bool = False) -> Entry:
    """A checked entry; raises EntryRefusedError naming the problem."""
    try:
        kind = Channel(channel)
    except ValueError:
        raise EntryRefusedError(
            f"okänd kanal {channel!r}: brev, telefon, besok eller muntlig") from None
    if kind not in BY_HAND:
        raise EntryRefusedError(f"{channel} kommer in av sig självt; för hand registreras brev, "
                           "telefon, besok och muntlig")
    if not text.strip():
        raise EntryRefusedError("texten är tom: skriv ned vad personen framförde")
    if kind in ORAL and not consent:
        raise EntryRefusedError("ett muntligt framfört klagomål skrivs ned bara med personens "
                           "samtycke: fråga först och ange --samtycke")
    if sum((email is not None, phone is not None, anonymous)) != 1:
        raise EntryRefusedError("ange en av --sender (e-post), --phone (telefon) eller --anonymous")
    if email is not None and not valid_address(email.strip()):
        raise EntryRefusedError(f"{email!r} är inte en giltig e-postadress")
    number = e164(phone) if phone is not None else None
    if phone is not None and number is None:
        raise EntryRefusedError(f"{phone!r} är inte ett giltigt telefonnummer")
    return Entry(kind, text.strip(), taken_by, written_at,
                 email=email.strip().lower() if email else None, phone=number,
                 name=(name or "").strip() or None,
                 subject=(subject or "").strip() or _first_line(text), consent=consent)


def from_raw(raw: bytes) -> Entry | Quarantine:
    """The stored entry back, or a Quarantine naming what is wrong with it."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Quarantine("bad-entry", "det nedskrivna meddelandet är inte läsbar JSON")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return Quarantine("bad-entry", "det nedskrivna meddelandet har ett okänt format")
    try:
        written = datetime.fromisoformat(doc["written_at"])
        return Entry(Channel(doc["channel"]), str(doc["text"]), str(doc["taken_by"]),
                     written if written.tzinfo else written.replace(tzinfo=UTC),
                     email=_text_or_none(doc.get("email")), phone=_text_or_none(doc.get("phone")),
                     name=_text_or_none(doc.get("name")), subject=str(doc.get("subject") or ""),
                     consent=doc.get("consent") is True)
    except (KeyError, ValueError, TypeError):
        return Quarantine("bad-entry", "det nedskrivna meddelandet saknar fält")


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    return line if len(line) <= SUBJECT_CHARS else line[:SUBJECT_CHARS - 1].rstrip() + "…"
