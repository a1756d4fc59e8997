"""The listener's batch store (``store_many``) has ``store_raw``'s outcome for
every mail, in order: keys stored before and twice in the batch, bytes
stored before under another key and twice in the batch (kept, marked a
duplicate; or, in a rescan, not stored again), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from sqlalchemy import select

from cases.inbound import Stored, store_many, store_raw
from cases.migrate import upgrade
from cases.models import Event, Inbound
from config.settings import Settings
from service.app import App, build_app
from tests.harness.postgres import scratch_database


def _app(home: Path, url: str | None) -> App:
    app = build_app(Settings(home=home, database_url=url) if url else Settings(home=home))
    upgrade(app.engine)
    return app


def _mail(n: int) -> bytes:
    return f"From: a{n}@example.se\r\nMessage-ID: <m{n}@example.se>\r\n\r\nText {n}\r\n".encode()


EARLIER = [("1:1", _mail(1)), ("1:2", _mail(2))]
BATCH = [("1:2", _mail(2)),  # key stored before
         ("1:3", _mail(1)),  # bytes stored before under another key
         ("1:4", _mail(4)),
         ("1:5", _mail(4)),  # bytes twice in the batch
         ("1:4", _mail(4)),  # key twice in the batch
         ("1:6", _mail(6))]


def _state(app: App, stored: list[Stored]) -> tuple[object, ...]:
    with app.sessions() as session:
        rows = [(r.id, r.source_key, r.status, r.reason, r.sha256, r.message_id, r.raw)
                for r in session.scalars(select(Inbound).order_by(Inbound.id))]
        events = [(e.kind, e.inbound_id, e.detail)
                  for e in session.scalars(select(Event).order_by(Event.inbound_id, Event.id))]
    return stored, rows, events


def _stored(home: Path, url: str | None, way: str, skip_twins: bool) -> tuple[object, ...]:
    app = _app(home, url)
    try:
        with app.sessions.begin() as session:
            for key, raw in EARLIER:
                store_raw(session, "imap:x", key, raw)
        with app.sessions.begin() as session:
            if way == "one":
                stored = [store_raw(session, "imap:x", key, raw, skip_twins=skip_twins)
                          for key, raw in BATCH]
            else:
                stored = store_many(session, "imap:x", BATCH, skip_twins=skip_twins)
        return _state(app, stored)
    finally:
        app.engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("skip_twins", [False, True], ids=["kept", "rescan"])
def test_the_batch_stores_what_one_by_one_stores(
        tmp_path: Path, request: pytest.FixtureRequest, database: str, skip_twins: bool) -> None:
    outcomes = []
    for way in ("one", "many"):
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(scratch_database(
                request.getfixturevalue("postgres_server_url"), f"synpunkt_{way}")
            ) if database == "postgresql" else None
            outcomes.append(_stored(tmp_path / way, url, way, skip_twins))
    assert outcomes[1] == outcomes[0]
    created = [s.created for s in outcomes[0][0]]  # type: ignore[union-attr]
    assert created == ([False, True, True, True, False, True] if not skip_twins
                       else [False, False, True, False, False, True])
