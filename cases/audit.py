"""The audit log: one call per state change, by whom or what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cases.models import Event, utcnow

__all__ = ["record", "utcnow"]


def record(
    session: Session,
    actor: str,
    kind: str,
    *,
    case_id: int | None = None,
    inbound_id: int | None = None,
    outbox_id: int | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> Event:
    """Append one event. ``detail`` carries ids, codes and short texts, never
    message text or contact details."""
    event = Event(
        actor=actor, kind=kind, case_id=case_id, inbound_id=inbound_id, outbox_id=outbox_id,
        at=at or utcnow(), detail=detail,
    )
    session.add(event)
    return event
