"""Spam: the kommun's filter's verdict in the headers, and SpamAssassin's
spamd (a real one, started here) asked about what the screen let through.
Spam gets no case and no receipt; it is kept, and a registrator can
release it (the web and the command line), after which it is a case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Inbound, InboundStatus, User
from config.settings import Settings
from review.app import create_app
from review.passwords import hash_password
from service.app import App, build_app
from tests import realmail
from tests.harness.spamd import Spamd
from tests.support import FIXTURES, run_cli
from workers.embedded import run_once

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
PERSON = (FIXTURES / "01_hemtjanst_kom_inte.eml").read_bytes()
PASSWORD = "ett långt lösenord 2026"


@pytest.fixture(scope="module")
def spamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spamd]:
    server = Spamd(tmp_path_factory.mktemp("spamd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _app(home: Path, **settings: object) -> App:
    app = build_app(Settings(home=home, **settings))  # type: ignore[arg-type]
    upgrade(app.engine)
    return app


def _process(app: App, mails: dict[str, bytes]) -> dict[str, Inbound]:
    with app.sessions.begin() as session:
        for key, raw in mails.items():
            store_raw(session, "test", key, raw, received_at=app.clock())
    run_once(app)
    with app.sessions() as session:
        return {r.source_key: r for r in session.scalars(select(Inbound))}


def _person(key: str, text: str = "", headers: str = "") -> bytes:
    raw = re.sub(rb"(?im)^Message-ID:[^\n]*", f"Message-ID: <{key}@example.se>".encode(),
                 PERSON, count=1)
    raw = headers.encode() + raw
    return raw.replace(b"I morse kom aldrig", f"{text} I morse kom aldrig".encode(), 1)


def test_the_spam_filters_verdict_in_the_headers(tmp_path: Path) -> None:
    mails = {
        "flag": _person("a", headers="X-Spam-Flag: YES\r\n"),
        "status": _person("b", headers="X-Spam-Status: Yes, score=9.1 required=5.0\r\n"),
        "rspamd": _person("c", headers="X-Spamd-Result: default: True [16.10 / 15.00]\r\n"),
        "scl": _person("d", headers="X-MS-Exchange-Organization-SCL: 6\r\n"),
        "forefront": _person("e", headers="X-Forefront-Antispam-Report: CIP:192.0.2.1;"
                                          "CTRY:SE;LANG:sv;SCL:9;SRV:;SFV:SPM;\r\n"),
        "clean": _person("f", headers="X-Spam-Flag: NO\r\nX-Spam-Status: No, score=0.2\r\n"
                                      "X-MS-Exchange-Organization-SCL: 1\r\n"),
        "trusted": _person("g", headers="X-Forefront-Antispam-Report: SCL:-1;SFV:SKN;\r\n"),
    }
    rows = _process(_app(tmp_path / "home"), mails)
    for key in ("flag", "status", "rspamd", "scl", "forefront"):
        assert rows[key].status == InboundStatus.IGNORED, key
        assert (rows[key].reason or "").startswith("spam:"), rows[key].reason
    for key in ("clean", "trusted"):
        assert rows[key].status == InboundStatus.PROCESSED, (key, rows[key].reason)
    # A kommun whose mail system writes no trustworthy verdicts turns them off.
    off = _process(_app(tmp_path / "off", spam_headers=False), {"flag": mails["flag"]})
    assert off["flag"].status == InboundStatus.PROCESSED


def test_spamd_decides_and_a_filter_away_keeps_nobody_waiting(tmp_path: Path,
                                                              spamd: Spamd) -> None:
    app = _app(tmp_path / "home", spam_filter_url=spamd.url())
    rows = _process(app, {"gtube": _person("h", GTUBE), "person": _person("i")})
    assert rows["gtube"].status == InboundStatus.IGNORED
    assert (rows["gtube"].reason or "").startswith("spam: skräppost enligt SpamAssassin")
    assert rows["person"].status == InboundStatus.PROCESSED
    away = _app(tmp_path / "away", spam_filter_url="spamd://127.0.0.1:9")
    rows = _process(away, {"gtube": _person("j", GTUBE)})
    assert rows["gtube"].status == InboundStatus.PROCESSED  # let through, with a warning


def test_the_registrator_releases_spam_and_it_becomes_a_case(tmp_path: Path,
                                                             spamd: Spamd) -> None:
    home = tmp_path / "home"
    app = _app(home, spam_filter_url=spamd.url())
    rows = _process(app, {"web": _person("k", GTUBE), "cli": _person("l", GTUBE)})
    with app.sessions.begin() as session:
        session.add(User(email="eva@ekby.example", role="registrator",
                         password_hash=hash_password(PASSWORD)))
    client = TestClient(create_app(app, lambda _i: None), client=("127.0.0.1", 50000))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"email": "eva@ekby.example", "password": PASSWORD,
                                "csrf": token.group(1)})
    inbox = client.get("/inkorg").text
    assert "Släpp igenom" in inbox and "skräppost enligt SpamAssassin" in inbox
    token = re.search(r'name="csrf" value="([^"]+)"', inbox)
    assert token is not None
    done = client.post(f"/inbound/{rows['web'].id}/reprocess", data={"csrf": token.group(1)})
    assert "Släppt igenom" in done.text
    run_cli("inbound", "release", str(rows["cli"].id), "--by", "user:eva@ekby.example",
            home=home, env={"SYNPUNKT_SPAM_FILTER_URL": spamd.url()})
    run_once(app)
    with app.sessions() as session:
        for key in ("web", "cli"):
            row = session.get_one(Inbound, rows[key].id)
            assert row.status == InboundStatus.PROCESSED and row.released, key
            assert session.scalar(select(Case).where(Case.inbound_id == row.id)) is not None
    assert len(list((home / "outbox").glob("*.eml"))) >= 2  # their receipts


@pytest.mark.long(seconds=30)
def test_spamd_on_the_real_corpus(tmp_path: Path, spamd: Spamd) -> None:
    """What SpamAssassin (its shipped rules, no network) makes of the corpus's
    spam and of the people's mail, through the whole pipeline: every verdict
    it gives is carried out; the figures are printed (README, Spam)."""
    app = _app(tmp_path / "home", spam_filter_url=spamd.url())
    mails = [m for m in realmail.corpus() if m.kind in ("spam", "human")]
    rows = _process(app, {m.file: m.raw for m in mails})
    caught = sum(1 for m in mails if m.kind == "spam" and rows[m.file].status != "processed")
    held = [m.file for m in mails if m.kind == "human"
            and (rows[m.file].reason or "").startswith("spam:")]
    spam = sum(1 for m in mails if m.kind == "spam")
    print(f"spamd on the corpus: {caught} of {spam} spam got no receipt; "
          f"{len(held)} of {len(mails) - spam} people's mails held as spam: {held}")
    for m in mails:  # a verdict of spam is always an ignored row, never a case
        row = rows[m.file]
        if (row.reason or "").startswith("spam:"):
            assert row.status == InboundStatus.IGNORED and row.case_id is None
    assert caught >= sum(1 for m in mails if m.kind == "spam" and realmail.marked_as_spam(m.raw))
