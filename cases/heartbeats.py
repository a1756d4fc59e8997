"""Heartbeats in the case register: every long-running loop writes its row
here, so that one ``synpunkt health`` sees every process on every machine,
and a delivery claim can be released as soon as its process is known dead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, or_, select
from sqlalchemy.orm import Session

from cases.db import upsert_insert
from cases.models import Heartbeat

STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Beat:
    """What a loop says of itself at one moment."""

    id: str
    process_id: str
    role: str
    name: str
    host: str
    pid: int
    started_at: datetime
    state: str
    detail: str = ""
    last_success_at: datetime | None = None
    success_within: float | None = None
    down_since: datetime | None = None


def write(session: Session, beat: Beat, now: datetime) -> None:
    """Insert or update the loop's row."""
    values: dict[str, Any] = {
        "process_id": beat.process_id, "role": beat.role, "name": beat.name[:200],
        "host": beat.host[:255], "pid": beat.pid, "started_at": beat.started_at,
        "beat_at": now, "state": beat.state[:20], "detail": beat.detail[:500],
        "last_success_at": beat.last_success_at, "success_within": beat.success_within,
        "down_since": beat.down_since,
    }
    statement = upsert_insert(session, Heartbeat).values(id=beat.id, **values)
    session.execute(statement.on_conflict_do_update(index_elements=[Heartbeat.id], set_=values))


def replace_departed(session: Session, beat: Beat, now: datetime, silent_after: timedelta,
                     pid_alive: Callable[[int], bool]) -> int:
    """A loop that starts takes the place of its predecessors on the same
    host: rows of the same role and name there that stopped, went silent,
    or whose process is gone. Returns how many were removed."""
    rows = session.scalars(select(Heartbeat).where(
        Heartbeat.role == beat.role, Heartbeat.name == beat.name[:200],
        Heartbeat.host == beat.host[:255], Heartbeat.id != beat.id)).all()
    gone = [r.id for r in rows if r.state == STOPPED or r.beat_at < now - silent_after
            or not pid_alive(r.pid)]
    if gone:
        session.execute(delete(Heartbeat).where(Heartbeat.id.in_(gone)))
    return len(gone)


def all_rows(session: Session) -> list[Heartbeat]:
    return list(session.scalars(select(Heartbeat).order_by(
        Heartbeat.role, Heartbeat.name, Heartbeat.host, Heartbeat.started_at)))


def forget(session: Session, row_id: str) -> list[str]:
    """Remove a loop's row (one taken out of service on purpose). ``row_id``
    may be the first characters of the id, as ``synpunkt health`` shows it;
    returns the ids it matched, and removes the row only when it matched one."""
    found = list(session.scalars(select(Heartbeat.id).where(Heartbeat.id.startswith(row_id))))
    if len(row_id) >= 4 and len(found) == 1:
        session.execute(delete(Heartbeat).where(Heartbeat.id == found[0]))
    return found


def process_alive(claimer: Any, now: datetime, silent_after: timedelta) -> ColumnElement[bool]:
    """SQL: the process ``claimer`` (a column or value) has a loop that beat
    within ``silent_after`` and has not stopped."""
    return exists(select(Heartbeat.id).where(
        Heartbeat.process_id == claimer, Heartbeat.state != STOPPED,
        Heartbeat.beat_at >= now - silent_after))


def is_alive(session: Session, process_id: str, now: datetime, silent_after: timedelta) -> bool:
    return bool(session.scalar(select(process_alive(process_id, now, silent_after))))


def silent_or_stopped(now: datetime, silent_after: timedelta) -> ColumnElement[bool]:
    return or_(Heartbeat.state == STOPPED, Heartbeat.beat_at < now - silent_after)
