"""``claim_fingerprint``: the first copy of a mail holds its fingerprint; a
later copy learns the holder's id; the holder claiming again (a mail taken up
again) is still the first. Two copies in two transactions at once on
PostgreSQL: the second waits for the first's commit and then finds it. A
batch's claims in one statement (``claim_fingerprints``) answer as the
claims one by one would."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from cases.inbound import claim_fingerprint, claim_fingerprints, store_raw
from cases.migrate import upgrade
from config.settings import Settings
from service.app import App, build_app


def _app(home: Path, url: str | None) -> App:
    app = build_app(Settings(home=home, database_url=url) if url else Settings(home=home))
    upgrade(app.engine)
    return app


def _rows(app: App, n: int) -> list[int]:
    with app.sessions.begin() as session:
        return [store_raw(session, "t", f"k{i}", f"Subject: {i}\r\n\r\nx\r\n".encode()).inbound_id
                for i in range(n)]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_first_copy_holds_and_later_copies_learn_it(
        tmp_path: Path, request: pytest.FixtureRequest, database: str) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    app = _app(tmp_path / "home", url)
    first, second = _rows(app, 2)
    with app.sessions.begin() as session:
        assert claim_fingerprint(session, "fp", first) is None
    with app.sessions.begin() as session:
        assert claim_fingerprint(session, "fp", second) == first
        assert claim_fingerprint(session, "fp", first) is None  # the holder again
        assert claim_fingerprint(session, "other", second) is None
    app.engine.dispose()


def test_two_copies_at_once_the_second_waits_and_finds_the_first(
        tmp_path: Path, postgres_url: str) -> None:
    app = _app(tmp_path / "home", postgres_url)
    first, second = _rows(app, 2)
    got: list[int | None] = []
    one: Session = app.sessions()
    one.begin()
    assert claim_fingerprint(one, "fp", first) is None  # not committed yet

    def other() -> None:
        with app.sessions.begin() as session:
            got.append(claim_fingerprint(session, "fp", second))

    thread = threading.Thread(target=other)
    thread.start()
    time.sleep(0.5)
    assert got == [], "the second copy must wait for the first's transaction"
    one.commit()
    one.close()
    thread.join(10)
    assert got == [first]
    app.engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_batch_claims_as_one_by_one_would(
        tmp_path: Path, request: pytest.FixtureRequest, database: str) -> None:
    """Against an earlier holder, against a copy earlier in the same batch,
    and alone; the same answers as ``claim_fingerprint`` in id order, and
    the same rows held afterwards."""
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    app = _app(tmp_path / "home", url)
    old, a, b, c, d, e = _rows(app, 6)
    wanted = {e: "held", c: "twice", a: "twice", b: "held", d: "alone"}
    with app.sessions.begin() as session:
        assert claim_fingerprint(session, "held", old) is None
    with app.sessions() as session:  # rolled back at the end: the claims one by one below
        together = claim_fingerprints(session, wanted)
    with app.sessions.begin() as session:
        one_by_one = {i: claim_fingerprint(session, wanted[i], i) for i in sorted(wanted)}
    assert together == one_by_one == {a: None, b: old, c: a, d: None, e: old}
    with app.sessions.begin() as session:
        assert claim_fingerprints(session, {a: "twice", d: "alone", old: "held"}) == {
            a: None, d: None, old: None}  # the holders again
        assert claim_fingerprints(session, {}) == {}
    app.engine.dispose()
