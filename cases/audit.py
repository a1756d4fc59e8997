"""The audit log: one call per state change, by whom or what."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, bindparam, cast, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from cases.models import Event, UTCDateTime, utcnow

__all__ = ["buffered", "record", "utcnow", "write", "write_buffered", "write_for",
           "write_for_values"]

# One event's INSERT, built once (cases.db.insert_or_nothing says why).
_INSERT = insert(Event)
_BUFFER = "synpunkt.audit_buffer"  # in Session.info while ``buffered`` is open


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
) -> None:
    """Append one event. ``detail`` carries ids, codes and short texts, never
    message text or contact details. Written with the session's next flush,
    or, while ``buffered`` is open, by ``write_buffered``."""
    row = {"actor": actor, "kind": kind, "case_id": case_id, "inbound_id": inbound_id,
           "outbox_id": outbox_id, "at": at or utcnow(), "detail": detail}
    buffer: list[dict[str, Any]] | None = session.info.get(_BUFFER)
    if buffer is not None:
        buffer.append(row)
    else:
        session.add(Event(**row))


@contextmanager
def buffered(session: Session) -> Iterator[None]:
    """While open, ``record`` keeps the session's events for ``write_buffered``,
    which the opener calls (before the session flushes or commits) to write
    them in one statement past the ORM's unit of work: a batch registered in
    one transaction records several events a case, and the unit of work's
    bookkeeping per object was most of their cost. The opener decides when,
    because an event may name a row that it writes itself (an outbox row,
    ``notify.outbox.OutboxBatch``)."""
    session.info[_BUFFER] = []
    try:
        yield
    finally:
        session.info.pop(_BUFFER, None)


def write_buffered(session: Session) -> None:
    """Write the events ``record`` kept while ``buffered`` is open, in order."""
    buffer: list[dict[str, Any]] | None = session.info.get(_BUFFER)
    if buffer:
        rows = buffer[:]
        buffer.clear()
        session.connection().execute(_INSERT, rows)


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


def write_for(outbox_ids: ColumnElement[int]) -> Insert:
    """``write``'s INSERT as part of a larger statement: one event for each
    row of ``outbox_ids`` (a column of a data-modifying CTE's RETURNING, so
    none when that statement changed no row), its values bound by the names
    ``write_for_values`` gives. Each value is cast: PostgreSQL infers no
    column type for a parameter in a SELECT list."""
    def bound(name: str, type_: Any) -> ColumnElement[Any]:
        return cast(bindparam(f"event_{name}", type_=type_), type_)
    return insert(Event).from_select(
        ["actor", "kind", "case_id", "inbound_id", "outbox_id", "at", "detail"],
        select(bound("actor", String()), bound("kind", String()), bound("case_id", Integer()),
               cast(None, Integer()), outbox_ids, bound("at", UTCDateTime()),
               bound("detail", JSON())))


def write_for_values(actor: str, kind: str, *, case_id: int | None = None,
                     **detail: Any) -> dict[str, Any]:
    """The bound values of ``write_for``'s event."""
    return {"event_actor": actor, "event_kind": kind, "event_case_id": case_id,
            "event_at": utcnow(), "event_detail": detail}
