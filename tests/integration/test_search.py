"""Finding cases (cases.search) on both registers a kommun may run: filters,
free text, urgency order, paging and a case found by its diarienummer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cases.migrate import upgrade
from cases.models import Case, Contact, Deadline
from cases.search import CaseQuery, find_by_reference, search

TODAY = date(2026, 12, 7)


def _case(n: int, **kw: object) -> Case:
    received = datetime(2026, 12, 1, 9, tzinfo=UTC) + timedelta(hours=n)
    values: dict[str, object] = dict(
        diarienummer=f"EKBY 2026/{n:04d}", year=2026, number=n, channel="email",
        subject=f"Ärende {n}", text="Snön ligger kvar.", category="klagomal", enhet="gata_park",
        flags=[], routine="soderkoping", received_at=received, registered_at=received,
        needs_review=False)
    values.update(kw)
    return Case(**values)


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    url = (f"sqlite:///{tmp_path / 'r.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    engine = create_engine(url)
    upgrade(engine)
    db = Session(engine)
    cases = [
        _case(1),
        _case(2, category="berom", channel="sms", enhet="hemtjanst_norr"),
        _case(3, flags=["allvarlig_handelse"], needs_review=True, text="Pappa föll."),
        _case(4, priority="akut", needs_review=True),
        _case(5, needs_review=True, subject="Lampan på Ekvägen"),
        _case(6, status="closed", flags=["extern", "felanmalan"]),
        _case(7, category=None, needs_review=True),
    ]
    db.add_all(cases)
    db.flush()
    db.add(Contact(case_id=cases[0].id, name="Karin Holm", email="karin.holm@example.se"))
    db.add_all([Deadline(case_id=cases[4].id, kind="aterkoppling", due=TODAY - timedelta(days=1)),
                Deadline(case_id=cases[6].id, kind="aterkoppling", due=TODAY + timedelta(days=3)),
                Deadline(case_id=cases[0].id, kind="aterkoppling", due=TODAY + timedelta(days=9))])
    db.commit()
    yield db
    db.close()
    engine.dispose()


def _numbers(session: Session, **kw: object) -> list[int]:
    return [c.number for c in search(session, CaseQuery(**kw), TODAY).cases]  # type: ignore[arg-type]


def test_filters(session: Session) -> None:
    assert _numbers(session, category=("berom",)) == [2]
    assert _numbers(session, category=("",)) == [7]
    assert _numbers(session, channel=("sms",)) == [2]
    assert _numbers(session, enhet=("hemtjanst_norr",)) == [2]
    assert _numbers(session, status=("closed",)) == [6]
    assert sorted(_numbers(session, flag=("felanmalan", "allvarlig_handelse"))) == [3, 6]
    assert _numbers(session, overdue=True) == [5]
    assert _numbers(session, since=date(2026, 12, 1), until=date(2026, 12, 1), sort="oldest") == [
        1, 2, 3, 4, 5, 6, 7]
    assert _numbers(session, since=date(2026, 12, 2)) == []


def test_free_text_finds_number_sender_subject_and_text(session: Session) -> None:
    assert _numbers(session, text="2026/0005") == [5]
    assert _numbers(session, text="KARIN.HOLM") == [1]
    assert _numbers(session, text="ekvägen") == [5]
    assert _numbers(session, text="föll") == [3]
    assert _numbers(session, text="100%") == []  # a wildcard in the text is only a character


def test_the_review_queue_by_urgency(session: Session) -> None:
    """Akut first, then a possible serious incident, then by the nearest deadline."""
    assert _numbers(session, needs_review=True, sort="urgency") == [4, 3, 5, 7]


def test_paging(session: Session) -> None:
    first = search(session, CaseQuery(per_page=3, sort="oldest"), TODAY)
    third = search(session, CaseQuery(per_page=3, page=3, sort="oldest"), TODAY)
    assert (first.total, first.pages) == (7, 3)
    assert [c.number for c in first.cases] == [1, 2, 3] and [c.number for c in third.cases] == [7]
    with pytest.raises(ValueError, match="sortering"):
        CaseQuery(sort="random")  # type: ignore[arg-type]


def test_a_case_by_id_or_diarienummer(session: Session) -> None:
    by_number = find_by_reference(session, "ekby  2026/0003")
    assert by_number is not None and by_number.number == 3
    short = find_by_reference(session, "2026/3")
    assert short is not None and short.number == 3
    assert find_by_reference(session, str(by_number.id)) is by_number
    assert find_by_reference(session, "EKBY 2026/0099") is None
    assert find_by_reference(session, "nope") is None
