"""One SMS as stored: the gateway's fields, canonical JSON, the raw bytes of
the SMS channel (what an .eml file is to e-mail)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.message import Quarantine

FORMAT = "synpunkt-sms/1"


@dataclass(frozen=True, slots=True)
class SmsRecord:
    gateway: str  # "46elks" | "twilio"
    id: str  # the gateway's message id: the key stored messages are upserted on
    sender: str  # as the gateway gave it (normalised to E.164 when the Message is made)
    recipient: str  # the kommun's number
    text: str
    created: datetime  # UTC, the gateway's time of receipt

    def to_raw(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "gateway": self.gateway, "id": self.id, "from": self.sender,
            "to": self.recipient, "message": self.text,
            "created": self.created.astimezone(UTC).isoformat(),
        }, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @property
    def source(self) -> str:
        return f"sms:{self.gateway}"


def from_raw(raw: bytes) -> SmsRecord | Quarantine:
    """The stored SMS back, or a Quarantine naming what is wrong with it."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Quarantine("bad-sms", "det lagrade sms:et är inte läsbar JSON")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return Quarantine("bad-sms", "det lagrade sms:et har ett okänt format")
    fields = ("gateway", "id", "from", "to", "message", "created")
    if not all(isinstance(doc.get(f), str) for f in fields):
        return Quarantine("bad-sms", "det lagrade sms:et saknar fält")
    try:
        created = datetime.fromisoformat(doc["created"])
    except ValueError:
        return Quarantine("bad-sms", "det lagrade sms:et har en ogiltig tidpunkt")
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return SmsRecord(doc["gateway"], doc["id"], doc["from"], doc["to"], doc["message"],
                     created.astimezone(UTC))
