"""Diarienummer: one gap-free series per year, safe with concurrent workers.

The next number is taken by one ``INSERT ... ON CONFLICT (year) DO UPDATE
SET last_number = last_number + 1 RETURNING last_number`` (a batch's block
of n numbers likewise, ``+ n``) inside the
transaction that registers the case (the first of a year inserts 1). The
row lock serialises concurrent registrations; a transaction that rolls back
gives its number back with it, so the series never has a gap.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cases.db import upsert_insert
from cases.models import DiarieSeries
from ingest.thread import format_diarienummer


def next_number(session: Session, year: int, count: int = 1) -> int:
    """Take the next ``count`` numbers of ``year``'s series inside the
    caller's transaction; returns the last of them."""
    stmt = (upsert_insert(session, DiarieSeries).values(year=year, last_number=count)
            .on_conflict_do_update(index_elements=[DiarieSeries.year],
                                   set_={"last_number": DiarieSeries.last_number + count})
            .returning(DiarieSeries.last_number))
    return int(session.connection().execute(stmt).scalar_one())


def allocate(session: Session, prefix: str, year: int) -> tuple[str, int]:
    number = next_number(session, year)
    return format_diarienummer(prefix, year, number), number


def allocate_block(session: Session, prefix: str, year: int,
                   count: int) -> list[tuple[str, int]]:
    """``count`` consecutive numbers of ``year``'s series in one statement
    (a batch registered in one transaction), in order."""
    if count < 1:
        return []
    last = next_number(session, year, count)
    return [(format_diarienummer(prefix, year, n), n) for n in range(last - count + 1, last + 1)]
