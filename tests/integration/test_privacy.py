"""Gallring and the registerutdrag on real SQLite and PostgreSQL, on cases
registered by the real embedded run (`synpunkt run --once`).

Cases from three senders (two mails from one, a mail from another, an SMS
from a third) and an out-of-office are registered; the second sender's and
the SMS sender's cases are closed, with staff notes. The registerutdrag of
the first sender holds exactly that sender's things. Gallring two and a half
years later leaves no trace of the closed cases' people in any text or
binary column of any table, keeps everything of the open case, keeps the
statistics, and adds one event per case; the audit log still refuses every
other change.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, func, select, text
from sqlalchemy.exc import DBAPIError

from cases.export import sender_of, write_registerutdrag
from cases.gallring import gallra
from cases.lifecycle import close_case, record_delay_reason, record_feedback
from cases.migrate import upgrade
from cases.models import Base, Case, Contact, Event, Inbound, Outbox
from cases.sms import store_sms
from cli.privacy import as_dict
from config.settings import Settings
from deadlines.calendar import STOCKHOLM
from ingest.sms.record import SmsRecord
from review.stats import compute, parse_period
from service.app import App, build_app
from service.gallring import DailyGallring
from tests.support import FIXTURES, run_cli

BIRGITTA = ("birgitta.holm@example.se", "Birgitta Holm", "I morse kom aldrig")
AHMED = ("ahmed.yusuf@telia.example", "Ahmed Yusuf", "Kärlet för matavfall")
SMS_PHONE, SMS_PHRASE = "+46701234567", "Gatlyktan vid Lövstavägen 17 blinkar"
NOTE = "Ringde Birgitta Holm på 070-765 43 21, hon var ledsen"
LATER = datetime.now(STOCKHOLM) + timedelta(days=30 * 31)  # 31 months on


def _drop(home: Path, name: str, raw: bytes) -> None:
    (home / "inbox" / "tmp" / name).write_bytes(raw)
    (home / "inbox" / "tmp" / name).rename(home / "inbox" / "new" / name)


def _second_mail_from_ahmed() -> bytes:
    raw = (FIXTURES / "03_sophamtning_uteblir.eml").read_bytes()
    raw = raw.replace(b"a5d7340605db0ee2.2a69f262@", b"b6e8451716ec1ff3.3b7a0373@")
    return raw.replace(b"Subject: Sopor inte h", b"Subject: Igen: sopor inte h")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registered(request: pytest.FixtureRequest, home: Path) -> Iterator[tuple[App, dict[str, Any]]]:
    """Four mails and an SMS through `synpunkt run --once`; the app to look with."""
    env = {"SYNPUNKT_SMS_JOIN_SECONDS": "0"}
    if request.param == "postgresql":
        env["SYNPUNKT_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = build_app(Settings(home=home, database_url=env.get("SYNPUNKT_DATABASE_URL"),
                             sms_join_seconds=0))
    upgrade(app.engine)
    mails = {name: (FIXTURES / name).read_bytes() for name in (
        "01_hemtjanst_kom_inte.eml", "02_franvaro_auto_replied.eml",
        "03_sophamtning_uteblir.eml")}
    mails["04_sopor_igen.eml"] = _second_mail_from_ahmed()
    for name, raw in mails.items():
        _drop(home, name.removesuffix(".eml"), raw)
    sms = SmsRecord("46elks", "sms1", "070-123 45 67", "+46700000100",
                    f"{SMS_PHRASE} sedan i måndags. Mvh Kim", datetime.now(STOCKHOLM))
    with app.sessions.begin() as session:
        store_sms(session, sms, sms.created)
    summary = json.loads(run_cli("run", "--once", "--json", home=home, env=env).stdout)
    assert (summary["cases"], summary["ignored"]) == (4, 1)
    yield app, {"mails": mails, "home": home, "env": env, "cli": request.param == "sqlite"}
    app.engine.dispose()


def _case_of(app: App, address: str) -> list[int]:
    with app.sessions() as session:
        return list(session.scalars(select(Contact.case_id).where(
            (func.lower(Contact.email) == address) | (Contact.phone == address))
            .order_by(Contact.case_id)))


def _texts(app: App) -> list[tuple[str, str]]:
    """Every value of every text, binary and JSON column of every table, lower-cased."""
    found = []
    with app.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary
                                                           | JSON)]
            if not cols:
                continue
            for row in conn.execute(select(*cols)):
                for col, value in zip(cols, row, strict=True):
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    elif not isinstance(value, str) and value is not None:
                        value = json.dumps(value, ensure_ascii=False)
                    if value:
                        found.append((f"{table.name}.{col.name}", value.lower()))
    return found


def _where(app: App, needles: list[str]) -> dict[str, list[str]]:
    """For each needle, the columns it is found in."""
    texts = _texts(app)
    return {n: [where for where, value in texts if n.lower() in value] for n in needles}


def _stats(app: App) -> Any:
    today = datetime.now(STOCKHOLM).date()
    with app.sessions() as session:
        return compute(session, app.kommun, parse_period(str(today.year), today),
                       today)


def test_registerutdrag_gallring_and_the_audit_log(
        registered: tuple[App, dict[str, Any]], tmp_path: Path) -> None:
    app, ctx = registered
    home, env = ctx["home"], ctx["env"]
    [birgitta] = _case_of(app, BIRGITTA[0])
    ahmed = _case_of(app, AHMED[0])
    [kim] = _case_of(app, SMS_PHONE)
    assert len(ahmed) == 2
    now = app.clock()

    # The registerutdrag of a sender with two cases, typed in another case.
    out = tmp_path / "utdrag.zip"
    if ctx["cli"]:  # the command line on one backend, its function on the other (time)
        run = run_cli("registerutdrag", "AHMED.Yusuf@Telia.Example", "--out", str(out),
                      "--json", home=home, env=env)
        assert "sekretess" in run.stderr
        listed = json.loads(run.stdout)["cases"]
    else:
        who = sender_of("AHMED.Yusuf@Telia.Example")
        assert who is not None
        with app.sessions() as session:
            listed = write_registerutdrag(session, who, out, now).cases
    with zipfile.ZipFile(out) as zf:
        names = sorted(zf.namelist())
        files = {n: zf.read(n) for n in names}
    with app.sessions() as session:
        numbers = [session.get_one(Case, i).diarienummer for i in ahmed]
        inbound = list(session.scalars(select(Inbound).where(Inbound.case_id.in_(ahmed))))
        outbox = list(session.scalars(select(Outbox.id).where(Outbox.recipient == AHMED[0])))
    assert listed == numbers
    assert [n for n in names if n.startswith("arenden/")] == sorted(
        f"arenden/{n.replace(' ', '-').replace('/', '-')}.json" for n in numbers)
    eml = [files[n] for n in names if n.startswith("inkommande/")]
    assert sorted(eml) == sorted([ctx["mails"]["03_sophamtning_uteblir.eml"],
                                  ctx["mails"]["04_sopor_igen.eml"]])
    assert sorted(eml) == sorted(r.raw for r in inbound)  # byte for byte
    assert len([n for n in names if n.startswith("utgaende/")]) == len(outbox) == 2
    assert {"README.txt", "innehall.json"} <= set(names)
    everything = b"".join(files.values()).lower()
    for other in (*BIRGITTA, SMS_PHONE, SMS_PHRASE, "sms1", "Mvh Kim"):
        assert other.lower().encode() not in everything, other
    assert AHMED[2].lower().encode() in everything
    assert b"registerutdrag" in files["README.txt"].lower()

    # The SMS sender's registerutdrag, by the number as a person writes it.
    phone = sender_of("070-123 45 67")
    assert phone is not None
    with app.sessions() as session:
        kim_out = write_registerutdrag(session, phone, tmp_path / "kim.zip", now)
    assert len(kim_out.cases) == len(kim_out.inbound) == 1
    assert kim_out.inbound[0].endswith(".sms.json") and len(kim_out.outbox) == 1

    # Close Birgitta's and Kim's cases with notes; Ahmed's stay open (one has
    # had återkoppling, so it is not closed either).
    with app.sessions.begin() as session:
        record_delay_reason(session, birgitta, NOTE, "user:lars.oberg@ekby.example", now)
        close_case(session, birgitta, f"Avslutat. {NOTE}", "user:lars.oberg@ekby.example", now)
        close_case(session, kim, "Lampan lagad, Kim informerad.", "user:lars", now)
        record_feedback(session, ahmed[1], "Ahmed Yusuf fick svar per telefon.", "user:lars",
                        now)
    gone = [*BIRGITTA, NOTE, "070-765 43 21", SMS_PHONE, SMS_PHRASE, "Kim informerad"]
    kept = [*AHMED, "Ahmed Yusuf fick svar"]
    found = _where(app, gone + kept)
    assert all(found.values()), found  # the search does find them before
    before_stats = _stats(app)
    with app.sessions() as session:
        events_before = session.execute(select(func.count(Event.id))).scalar_one()
        last_event = session.execute(select(func.max(Event.id))).scalar_one()
    snapshot = _texts(app)

    # A dry run changes nothing; the real run by the command line.
    dry = gallra(app.sessions, _policy(app), LATER, dry_run=True)
    assert sorted(c.case_id for c in dry.cases) == sorted([birgitta, kim]) and dry.automatic == 1
    assert _texts(app) == snapshot
    part = gallra(app.sessions, _policy(app), LATER, dry_run=True, limit=1)
    assert len(part.cases) == 1 and not part.complete and part.automatic == 0
    if ctx["cli"]:
        done = json.loads(run_cli("gallra", "--json", "--now", LATER.isoformat(), home=home,
                                  env=env).stdout)
    else:
        done = as_dict(gallra(app.sessions, _policy(app), LATER))
    assert sorted(c["id"] for c in done["cases"]) == sorted([birgitta, kim])
    assert done["automatic"] == 1 and done["waiting"] == []

    found = _where(app, gone + kept)
    assert {n: found[n] for n in gone} == {n: [] for n in gone}
    assert all(found[n] for n in kept), found
    assert _stats(app) == before_stats
    with app.sessions() as session:
        # One event per case, one for the automatic mail emptied.
        assert session.scalar(select(func.count(Event.id))) == events_before + 3
        marks = list(session.scalars(select(Event).where(Event.id > last_event)))
        assert sorted((e.kind, e.case_id) for e in marks) == sorted([
            ("case.gallrad", birgitta), ("case.gallrad", kim), ("gallring.inbound", None)])
        case = session.get_one(Case, birgitta)
        assert case.subject.startswith("[gallrad ") and case.category and case.enhet
        assert session.scalar(select(func.count()).where(
            Event.case_id == birgitta, Event.kind == "case.closed")) == 1
        auto = session.scalar(select(Inbound).where(Inbound.status == "ignored"))
        assert auto is not None and auto.raw == b"" and auto.reason
        assert auto.reason.startswith("auto-submitted: [gallrad ")

    # Idempotent: nothing left to clear.
    again = gallra(app.sessions, _policy(app), LATER)
    assert not again.cleared_anything and not again.waiting
    daily = DailyGallring()  # the scheduler's and `run`'s hook: once a day
    later = replace(app, clock=lambda: LATER)
    first = daily(later)
    assert first is not None and not first.cleared_anything
    assert daily(later) is None
    # Gallrad data is not in a registerutdrag any more.
    with app.sessions() as session:
        assert write_registerutdrag(session, phone, tmp_path / "k2.zip", now).cases == []

    _audit_log_still_refuses(app, birgitta)


def _policy(app: App) -> Any:
    policy = app.kommun.organisation.gallring
    assert policy is not None
    return policy


def _audit_log_still_refuses(app: App, case_id: int) -> None:
    with app.sessions() as session:
        scrubbed = session.scalar(select(Event.id).where(
            Event.case_id == case_id, Event.gallrad_at.is_not(None)).limit(1))
        plain = session.scalar(select(Event.id).where(
            Event.gallrad_at.is_(None), Event.case_id.is_not(None)).limit(1))
    assert scrubbed is not None and plain is not None
    stamp = "'2030-01-01 00:00:00+00:00'"
    refused = [
        f"UPDATE event SET actor = 'x' WHERE id = {plain}",
        f"UPDATE event SET kind = 'x', gallrad_at = {stamp} WHERE id = {plain}",
        f"UPDATE event SET at = {stamp}, gallrad_at = {stamp} WHERE id = {plain}",
        f"UPDATE event SET case_id = NULL, gallrad_at = {stamp} WHERE id = {plain}",
        f"UPDATE event SET detail = '{{}}' WHERE id = {plain}",  # without gallrad_at
        f"UPDATE event SET detail = '{{}}', gallrad_at = {stamp} WHERE id = {scrubbed}",
        f"DELETE FROM event WHERE id = {plain}",
        f"DELETE FROM event WHERE id = {scrubbed}",
    ]
    for statement in refused:
        assert "append-only" in _error(app, statement), statement
    # The one exception, for comparison: detail and gallrad_at together, once.
    with app.engine.begin() as conn:
        conn.execute(text(f"UPDATE event SET detail = '{{}}', gallrad_at = {stamp} "
                          f"WHERE id = {plain}"))


def _error(app: App, statement: str) -> str:
    """What the database said to ``statement`` (rolled back), or "allowed"."""
    try:
        with app.engine.begin() as conn:
            conn.execute(text(statement))
    except DBAPIError as exc:
        return str(exc)
    return "allowed"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                              marks=pytest.mark.postgres)])
def test_migration_0008_down_and_up_again(backend: str, tmp_path: Path,
                                          request: pytest.FixtureRequest) -> None:
    """The downgrade restores the strict log of 0001; upgrading again works."""
    from cases.db import make_engine
    from cases.migrate import downgrade

    url = (request.getfixturevalue("postgres_url") if backend == "postgresql"
           else f"sqlite:///{tmp_path / 'm.sqlite3'}")
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO event (at, actor, kind, detail) VALUES "
                          "('2026-01-01 00:00:00', 'a', 'k', '{\"note\": \"x\"}')"))
    downgrade(engine, "0007")
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE event SET detail = '{}'"))
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET detail = '{}', gallrad_at = '2027-01-01'"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM event"))
    engine.dispose()
