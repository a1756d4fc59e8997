"""Storing raw input: the first thing that happens to every message."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.models import Inbound, InboundStatus, utcnow

_MSGID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]{1,990}>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Stored:
    inbound_id: int
    created: bool  # False: this (source, key) was stored before


def store_raw(
    session: Session, source: str, key: str, raw: bytes, channel: str = "email",
    received_at: datetime | None = None, skip_twins: bool = False,
    sender: str | None = None, sent_at: datetime | None = None,
) -> Stored:
    """Insert the raw bytes unless (source, key) is already stored. Identical
    bytes under another key are kept too, but marked ignored as a duplicate,
    so the same message never becomes two cases; with ``skip_twins`` (a rescan
    after a UIDVALIDITY change) they are not stored again at all."""
    existing = session.scalar(
        select(Inbound.id).where(Inbound.source == source, Inbound.source_key == key)
    )
    if existing is not None:
        return Stored(existing, created=False)
    digest = hashlib.sha256(raw).hexdigest()
    row = Inbound(
        source=source, source_key=key, channel=channel, raw=raw, sha256=digest,
        message_id=_message_id(raw), received_at=received_at or utcnow(),
        sender=sender, sent_at=sent_at,
    )
    twin = session.scalar(select(Inbound.id).where(Inbound.sha256 == digest).limit(1))
    if twin is not None and skip_twins:
        return Stored(twin, created=False)
    if twin is not None:
        row.status = InboundStatus.IGNORED
        row.reason = f"duplicate: samma meddelande som inkommande #{twin}"
    session.add(row)
    session.flush()
    audit.record(session, f"system:{source}", "inbound.stored", inbound_id=row.id,
                 status=row.status, size=len(raw))
    return Stored(row.id, created=True)


def _message_id(raw: bytes) -> str | None:
    # Cut first: splitting all of a 40 MB message would copy it once more.
    head = raw[:65536].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    found = _MSGID.search(head)
    if found:
        return found.group(1).decode("ascii", "replace")
    return None


__all__ = ["Stored", "store_raw"]
