"""The case register on SQLite and PostgreSQL: migrations, audit log, diarienummer."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from cases import audit, diarium
from cases.db import make_engine, make_sessions
from cases.inbound import finish, quarantine_dead, store_raw
from cases.migrate import (
    alembic_config,
    at_head,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from cases.models import Base, Case, Event, Inbound, InboundStatus

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def test_migrations_match_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_head_is_alembics_head_and_each_script_is_named_by_its_revision() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()
    assert len(scripts.get_heads()) == 1
    for script in scripts.walk_revisions():
        assert Path(script.path).name.split("_", 1)[0] == script.revision


def test_downgrade_and_upgrade_again(engine: Engine) -> None:
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not at_head(engine)
    upgrade(engine)
    assert at_head(engine)
    assert current_revision(engine) == head_revision()


def test_event_log_is_append_only(engine: Engine) -> None:
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        audit.record(session, "system:test", "case.registered", note="x")
    for statement in ("UPDATE event SET kind = 'changed'", "DELETE FROM event"):
        with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as session:
            session.execute(text(statement))
    with sessions() as session:
        assert session.scalars(select(Event.kind)).all() == ["case.registered"]


def _case(number_text: str, number: int, year: int) -> Case:
    return Case(diarienummer=number_text, year=year, number=number, channel="email",
                enhet="registrator", routine="soderkoping", received_at=NOW, registered_at=NOW)


def test_one_series_per_year(engine: Engine) -> None:
    sessions = make_sessions(engine)
    got = []
    for year in (2026, 2026, 2027, 2026, 2027):
        with sessions.begin() as session:
            got.append(diarium.allocate(session, "EKBY", year)[0])
    assert got == ["EKBY 2026/0001", "EKBY 2026/0002", "EKBY 2027/0001", "EKBY 2026/0003",
                   "EKBY 2027/0002"]


class _RollbackError(Exception):
    pass


def _hammer(engine: Engine, writers: int, per_writer: int) -> tuple[list[str], int]:
    """``writers`` threads register cases at once; about a fifth of their
    transactions roll back after taking a number."""
    sessions = make_sessions(engine)
    barrier = threading.Barrier(writers)
    committed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    rolled_back = 0

    def writer(seed: int) -> None:
        nonlocal rolled_back
        rng = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(per_writer):
                try:
                    with sessions.begin() as session:
                        number_text, number = diarium.allocate(session, "EKBY", 2026)
                        session.add(_case(number_text, number, 2026))
                        session.flush()
                        if rng.random() < 0.2:
                            raise _RollbackError
                except _RollbackError:
                    with lock:
                        rolled_back += 1
                    continue
                with lock:
                    committed.append(number_text)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return committed, rolled_back


@pytest.mark.postgres
def test_diarienummer_gap_free_with_8_concurrent_writers_on_postgresql(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=10)
    upgrade(engine)
    committed, rolled_back = _hammer(engine, writers=8, per_writer=30)
    assert rolled_back > 0  # the test really exercised give-back on rollback
    expected = [f"EKBY 2026/{n:04d}" for n in range(1, len(committed) + 1)]
    assert sorted(committed) == expected  # unique and without gaps
    with make_sessions(engine)() as session:
        stored = session.scalars(select(Case.diarienummer).order_by(Case.number)).all()
    assert stored == expected
    engine.dispose()


def test_diarienummer_gap_free_with_concurrent_writers_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    upgrade(engine)
    committed, _ = _hammer(engine, writers=4, per_writer=15)
    assert sorted(committed) == [f"EKBY 2026/{n:04d}" for n in range(1, len(committed) + 1)]
    engine.dispose()


def test_a_dead_letter_quarantines_a_row_still_received(engine: Engine) -> None:
    """The workers gave up on an inbound row: quarantined with the reason, its
    end recorded like any other; a row that already ended stays as it was."""
    upgrade(engine)
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        waiting = store_raw(session, "maildir:x", "1", b"Subject: a\n\nHej\n").inbound_id
        done = store_raw(session, "maildir:x", "2", b"Subject: b\n\nHej\n").inbound_id
        finish(session, session.get_one(Inbound, done), InboundStatus.IGNORED, "auto: x")
    with sessions.begin() as session:
        for inbound_id in (waiting, done, 10_000):
            quarantine_dead(session, inbound_id, "dead-letter: RuntimeError", "system:worker")
    with sessions() as session:
        row = session.get_one(Inbound, waiting)
        assert (row.status, row.reason) == (InboundStatus.QUARANTINED,
                                            "dead-letter: RuntimeError")
        assert row.processed_at is not None
        assert session.get_one(Inbound, done).status == InboundStatus.IGNORED
        last = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert last is not None
        assert (last.kind, last.actor, last.inbound_id) == ("inbound.quarantined",
                                                            "system:worker", waiting)
