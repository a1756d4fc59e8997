"""The one place that builds the database engine and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from config.errors import TransientError


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Start write transactions at BEGIN so concurrent writers serialise
        # instead of failing on upgrade from a read lock.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if make_url(url).get_driver_name() == "psycopg":
        _keep_batch_statements()
    return create_engine(url, pool_pre_ping=True, **kwargs)


# psycopg turns a statement's %(name)s placeholders into $n by parsing its
# text, and keeps the result for the statement's next execution only when
# it is at most 4,096 characters with at most 50 parameters (private
# constants of psycopg._queries): an ORM's multi-row INSERTs with a varying
# number of rows would otherwise fill its 128 places with one-off entries.
# A batch's INSERTs (eight cases, their contacts, deadlines, outbox rows
# and events: up to about 250 parameters, 15 shapes) repeat with every
# batch, and parsing one anew costs about a millisecond: half a millisecond
# of each mail's CPU, measured (benchmarks/RESULTS.md, 2026-12-06). So the
# limits are raised. The cache keeps its 128 places: a MB or two for the
# batch's shapes; at the very worst, 128 statements at the new limits, about
# 45 MB (350 KiB an entry, measured).
# tests/integration/test_db_statements.py fails if psycopg renames them.
PLACEHOLDER_CACHE_LIMITS = {"MAX_CACHED_STATEMENT_LENGTH": 65_536,
                            "MAX_CACHED_STATEMENT_PARAMS": 1_000}


def _keep_batch_statements() -> None:
    from psycopg import _queries

    for name, limit in PLACEHOLDER_CACHE_LIMITS.items():
        if getattr(_queries, name, limit) < limit:
            setattr(_queries, name, limit)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener issue BEGIN
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upsert_insert(session: Session, model: Any) -> Any:
    """An INSERT for ``model`` with ``on_conflict_do_nothing``/``_do_update``,
    in the dialect of the session's database (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


@lru_cache(maxsize=32)
def _insert_or_nothing(dialect: str, table: Any, key: str, returning: tuple[str, ...]) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(table).on_conflict_do_nothing(index_elements=[table.c[key]])
            .returning(*(table.c[column] for column in returning)))


def insert_or_nothing(session: Session, model: Any, key: str, *returning: str) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING returning`` for
    ``model``, built once per database dialect: executed with the row as
    its parameters, it costs a third of a statement built anew each time
    (building one is most of a small statement's CPU in SQLAlchemy); with
    many rows, it returns those it inserted."""
    return _insert_or_nothing(session.get_bind().dialect.name, model.__table__, key, returning)


def db_problem(exc: OperationalError | InterfaceError) -> str:
    """One line naming what the database said ("database or disk is full",
    "connection refused"): the driver's own message, never the SQL or its
    parameters."""
    said = str(exc.orig).strip().splitlines()
    return f"databasen: {type(exc).__name__}" + (f": {said[0][:200]}" if said else "")


@contextmanager
def transient_db_errors() -> Iterator[None]:
    """A database that is unreachable or restarting is worth retrying later."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise TransientError(db_problem(exc)) from exc
