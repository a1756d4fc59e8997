"""The audit log: one call per state change, by whom or what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from cases.models import Event, utcnow

__all__ = ["record", "utcnow", "write"]

# One event's INSERT, built once (cases.db.insert_or_nothing says why).
_INSERT = insert(Event)


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


def write(
    session: Session,
    actor: str,
    kind: str,
    *,
    case_id: int | None = None,
    outbox_id: int | None = None,
    **detail: Any,
) -> None:
    """``record``, written at once in one INSERT on the session's
    transaction, past the ORM's unit of work: for the small transactions
    that change rows with plain statements and have nothing pending (an
    outbox row's settlement), where that bookkeeping is most of the cost."""
    session.connection().execute(_INSERT, {
        "actor": actor, "kind": kind, "case_id": case_id, "inbound_id": None,
        "outbox_id": outbox_id, "at": utcnow(), "detail": detail})
