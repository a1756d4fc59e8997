"""`synpunkt cases list` and `cases show` on both registers a kommun may run:
filters, paging, a case named by its diarienummer, words (not ids) and
Swedish time for a person, ids and ISO times in --json."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cases.models import Case, Contact, Deadline, Event
from tests.cli_runner import Ran, in_process

# Ids the configuration and the register keep, never shown to a person.
IDS = ("open", "closed", "feedback_given", "klagomal", "berom", "gata_park", "hemtjanst_norr",
       "allvarlig_handelse", "email", "case.registered", "soderkoping", "aterkoppling")


@pytest.fixture(params=["sqlite", "postgresql"])
def synpunkt(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """Three cases: 1 open (a deadline passed), 2 praise to Hemtjänst Norr, 3 closed."""
    env: dict[str, str] = {}
    if request.param == "postgresql":
        env["SYNPUNKT_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    run = in_process(tmp_path / "home", monkeypatch, capsys)
    assert run("db", "upgrade", **env).code == 0
    url = env.get("SYNPUNKT_DATABASE_URL") or f"sqlite:///{tmp_path / 'home/synpunkt.sqlite3'}"
    engine = create_engine(url)
    with Session(engine) as session:
        # 23:30 UTC on 1 December is 00:30 on 2 December in Stockholm.
        first = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
        for n, kw in ((1, {"flags": ["allvarlig_handelse"], "needs_review": True}),
                      (2, {"category": "berom", "enhet": "hemtjanst_norr", "channel": "sms"}),
                      (3, {"status": "closed"})):
            at = first + timedelta(days=n - 1)
            values: dict[str, object] = dict(
                diarienummer=f"EKBY 2026/{n:04d}", year=2026, number=n, channel="email",
                subject=f"Ärende {n}", text="Snön ligger kvar på Storgatan.",
                category="klagomal", enhet="gata_park", flags=[], routine="soderkoping",
                received_at=at, registered_at=at, needs_review=False)
            session.add(Case(**{**values, **kw}))
        session.flush()
        session.add(Contact(case_id=1, name="Karin Holm", email="karin.holm@example.se"))
        session.add(Deadline(case_id=1, kind="aterkoppling", due=date(2026, 12, 3),
                             description="återkoppling från den som ansvarar för frågan"))
        session.add(Event(case_id=1, kind="case.registered", actor="system:ingest", at=first))
        session.commit()
    engine.dispose()

    def with_env(*args: str) -> Ran:
        return run(*args, **env)

    return with_env


def _ids(ran: Ran) -> list[int]:
    assert ran.code == 0, ran.err
    return [json.loads(line)["id"] for line in ran.out.splitlines()]


def test_filters_sort_and_pages(synpunkt: Callable[..., Ran]) -> None:
    assert _ids(synpunkt("cases", "list", "--json")) == [1, 2, 3]
    assert _ids(synpunkt("cases", "list", "--json", "--sort", "newest")) == [3, 2, 1]
    assert _ids(synpunkt("cases", "list", "--json", "--status", "open")) == [1, 2]
    assert _ids(synpunkt("cases", "list", "--json", "--status", "avslutat",
                         "--status", "öppet")) == [1, 2, 3]
    assert _ids(synpunkt("cases", "list", "--json", "--enhet", "Hemtjänst Norr")) == [2]
    assert _ids(synpunkt("cases", "list", "--json", "--category", "beröm")) == [2]
    assert _ids(synpunkt("cases", "list", "--json", "--flag", "allvarlig_handelse")) == [1]
    assert _ids(synpunkt("cases", "list", "--json", "--channel", "sms")) == [2]
    assert _ids(synpunkt("cases", "list", "--json", "--review")) == [1]
    assert _ids(synpunkt("cases", "list", "--json", "--no-review")) == [2, 3]
    assert _ids(synpunkt("cases", "list", "--json", "--overdue")) == [1]
    assert _ids(synpunkt("cases", "list", "--json", "--q", "KARIN")) == [1]
    assert _ids(synpunkt("cases", "list", "--json", "--q", "2026/0003")) == [3]
    # Received 00:30 Swedish time on 2 December: that day, not 1 December.
    assert _ids(synpunkt("cases", "list", "--json", "--since", "2026-12-02",
                         "--until", "2026-12-02")) == [1]
    # --json without --page: every match, however many pages.
    assert _ids(synpunkt("cases", "list", "--json", "--per-page", "2")) == [1, 2, 3]
    assert _ids(synpunkt("cases", "list", "--json", "--per-page", "2", "--page", "2")) == [3]
    page = synpunkt("cases", "list", "--per-page", "2")
    assert ("Sida 1 av 2 (3 ärenden, 2 per sida; nästa: --page 2; nyaste först: --sort "
            "newest)") in page.out
    assert "EKBY 2026/0003" not in page.out


def test_json_keeps_ids_and_iso_times(synpunkt: Callable[..., Ran]) -> None:
    row = json.loads(synpunkt("cases", "list", "--json").out.splitlines()[0])
    assert (row["status"], row["category"], row["enhet"]) == ("open", "klagomal", "gata_park")
    assert datetime.fromisoformat(row["received_at"]) == datetime(2026, 12, 1, 23, 30,
                                                                  tzinfo=UTC)


def test_a_person_reads_words_and_swedish_time(synpunkt: Callable[..., Ran]) -> None:
    listed = synpunkt("cases", "list")
    shown = synpunkt("cases", "show", "EKBY", "2026/0001")
    for ran in (listed, shown):
        assert ran.code == 0, ran.err
        assert "2026-12-02 00:30" in ran.out and "svensk tid" in ran.out
        assert "UTC" not in ran.out and "CET" not in ran.out
        words = set(ran.out.replace(",", " ").replace("(", " ").replace(")", " ").split())
        assert words.isdisjoint(IDS), sorted(words & set(IDS))
    assert "Gata och park" in listed.out and "öppet" in listed.out
    assert "klagomål" in listed.out and "möjlig allvarlig händelse" in listed.out
    assert "registrerat" in shown.out and "återkoppling från den som ansvarar" in shown.out


def test_a_case_by_id_or_diarienummer_also_in_actions(synpunkt: Callable[..., Ran]) -> None:
    for reference in ("1", "EKBY 2026/0001", "ekby  2026/0001", "2026/1"):
        shown = synpunkt("cases", "show", reference, "--json")
        assert shown.code == 0, shown.err
        assert json.loads(shown.out)["id"] == 1, reference
    # The actions take one too, quoted or not.
    done = synpunkt("cases", "close", "EKBY", "2026/0002", "--note", "Tackat.", "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["status"] == "closed"
    again = synpunkt("cases", "close", "EKBY 2026/0002", "--note", "Igen.")
    assert again.code == 1 and again.err.count("\n") == 1, again.err
