"""A batch's multi-row statements are parsed by psycopg once, not at every
batch (cases/db.py, PLACEHOLDER_CACHE_LIMITS)."""

from __future__ import annotations

import pytest
from psycopg import _queries
from sqlalchemy import insert

from cases.db import PLACEHOLDER_CACHE_LIMITS, make_engine, make_sessions
from cases.migrate import upgrade
from cases.models import Event, utcnow


@pytest.mark.postgres
def test_a_batch_insert_is_parsed_once_and_then_taken_from_the_cache(postgres_url: str) -> None:
    assert set(PLACEHOLDER_CACHE_LIMITS) <= set(vars(_queries)), "psycopg renamed its limits"
    engine = make_engine(postgres_url)
    upgrade(engine)
    sessions = make_sessions(engine)
    rows = [dict(actor="system:test", kind="case.note", case_id=None, inbound_id=None,
                 outbox_id=None, at=utcnow(), detail={"n": n}) for n in range(30)]

    def batch() -> None:  # 30 rows, their ids returned: one statement of 210 parameters
        with sessions.begin() as session:
            ids = session.scalars(insert(Event).returning(Event.id), rows).all()
            assert len(ids) == len(rows)

    batch()
    before = _queries._query2pg.cache_info()
    batch()
    after = _queries._query2pg.cache_info()
    assert after.hits > before.hits and after.misses == before.misses
    engine.dispose()
