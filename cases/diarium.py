"""Diarienummer: one gap-free series per year, safe with concurrent workers.

The next number is taken by ``UPDATE diarie_series SET last_number =
last_number + 1 ... RETURNING`` inside the transaction that registers the
case. The row lock serialises concurrent registrations; a transaction that
rolls back gives its number back with it, so the series never has a gap.
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from cases.models import DiarieSeries
from ingest.thread import format_diarienummer


def next_number(session: Session, year: int) -> int:
    """Take the next number of ``year``'s series inside the caller's transaction."""
    _ensure_series(session, year)
    taken = session.execute(
        update(DiarieSeries)
        .where(DiarieSeries.year == year)
        .values(last_number=DiarieSeries.last_number + 1)
        .returning(DiarieSeries.last_number)
    ).scalar_one()
    return int(taken)


def allocate(session: Session, prefix: str, year: int) -> tuple[str, int]:
    number = next_number(session, year)
    return format_diarienummer(prefix, year, number), number


def _ensure_series(session: Session, year: int) -> None:
    dialect = session.get_bind().dialect.name
    values = {"year": year, "last_number": 0}
    stmt: Executable
    if dialect == "postgresql":
        stmt = postgresql.insert(DiarieSeries).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(DiarieSeries).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(DiarieSeries).values(values)
    session.execute(stmt)
