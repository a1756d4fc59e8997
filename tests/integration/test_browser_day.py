"""A registrator's and a chef's working day in headless Chromium (issue 24):
search, filter, open, correct, confirm in bulk, read and release a
quarantined mail, export; the chef's own queue by deadline, a misrouted case
returned, återkoppling written. Every page visited is read as a person sees
it and the walk fails if an id from the configuration shows. Screenshots of
the inbox, a case, the rules editor and the phone layout go to docs/bilder/
when SYNPUNKT_SCREENSHOTS is set (tests/artifacts/ otherwise)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Inbound, User
from classify.triage import Category, Flag, Triage
from config.settings import SHIPPED_CONFIG, Settings
from review.passwords import hash_password
from service.app import App, build_app
from service.pipeline import process_inbound
from tests.integration.test_web_browser import ARTIFACTS, CHROMIUM, PASSWORD
from tests.integration.test_web_browser import _login as login_as
from tests.integration.test_words_in_output import configured_ids, ids_in
from tests.support import FixedClassifier, serve_web

REGISTRATOR, CHEF = "eva@ekby.example", "robert@ekby.example"  # Gata och park's chef
DOCS = Path(__file__).resolve().parents[2] / "docs" / "bilder"
SHOTS = DOCS if os.environ.get("SYNPUNKT_SCREENSHOTS") else ARTIFACTS


def _triage(category: Category | None, sure: bool, *flags: Flag) -> Triage:
    return Triage(category=category, confidence=0.93 if sure else 0.4, needs_review=not sure,
                  flags=frozenset(flags), review_reasons=() if sure else ("osäker kategori",))


MAILS: tuple[tuple[str, str, str, Triage], ...] = (
    ("lampa", "Gatlampa", "Gatlampan på Björkvägen har varit släckt i två veckor.",
     _triage(Category.KLAGOMAL, True, Flag.FELANMALAN)),
    ("bank", "Trottoaren", "Trottoaren vid dammen är sönder, någon kan skada sig.",
     _triage(Category.KLAGOMAL, True)),
    ("mat", "Maten", "Maten på Solgården kommer kall till min mamma varje dag.",
     _triage(Category.KLAGOMAL, False)),
    ("buss", "Bussen", "Bussen till Kvarnbacken går för sällan på kvällarna.",
     _triage(Category.SYNPUNKT, False, Flag.EXTERN)),
    ("fall", "Pappa föll", "Pappa föll i sitt rum på Solgården och låg länge innan någon kom.",
     _triage(Category.KLAGOMAL, False, Flag.ALLVARLIG_HANDELSE)),
    ("tack", "Tack", "Tack till personalen på biblioteket för hjälpen med datorn!",
     _triage(Category.BEROM, False)),
)
QUARANTINED = (b"From: Okand <okand@example.se>\nTo: synpunkter@ekby.example\n"
               b"Subject: Hej\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
               b"Snoret pa Ekvagen ar inte plogat.\n")


@dataclass
class Day:
    app: App
    url: str
    cases: dict[str, int]
    quarantined: int


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Day]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is needed (tests/run installs Debian's chromium)")
    config = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, config)  # the rules editor may save
    app = build_app(Settings(home=tmp_path / "home", config=config))
    upgrade(app.engine)
    with app.sessions.begin() as session:
        for email, role, enhet in ((REGISTRATOR, "registrator", None),
                                   (CHEF, "chef", "gata_park"),
                                   ("admin@ekby.example", "admin", None)):
            session.add(User(email=email, role=role, enhet=enhet, created_at=datetime.now(UTC),
                             password_hash=hash_password(PASSWORD)))
    cases = {}
    for key, subject, text, triage in MAILS:
        raw = (f"From: Anna Berg <anna.{key}@example.se>\nTo: synpunkter@ekby.example\n"
               f"Subject: {subject}\nMessage-ID: <{key}@example.se>\n"
               "Content-Type: text/plain; charset=utf-8\n\n{text}\n").replace(
                   "{text}", text).encode()
        with app.sessions.begin() as session:
            inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
        outcome = process_inbound(replace(app, classifier=FixedClassifier(triage)), inbound)
        assert outcome.case_id is not None
        cases[key] = outcome.case_id
    with app.sessions.begin() as session:  # a mail that could not be read: quarantined
        row = store_raw(session, "test", "trasig", QUARANTINED, received_at=app.clock())
        stored = session.get_one(Inbound, row.inbound_id)
        stored.status, stored.reason = "quarantined", "unreadable: brevet gick inte att läsa"
    with serve_web(app) as url:
        yield Day(app, url, cases, row.inbound_id)


def _login(browser: Any, url: str, email: str, width: int = 1280) -> Any:
    return login_as(browser, url, email, width)


class Reader:
    """Reads every page as a person sees it; fails on a configuration id."""

    def __init__(self, app: App) -> None:
        self.ids = configured_ids(app.kommun)
        self.seen: list[str] = []

    def __call__(self, page: Any) -> str:
        page.wait_for_load_state()
        text: str = page.inner_text("body")
        assert ids_in(text, self.ids) == [], (page.url, ids_in(text, self.ids))
        self.seen.append(page.url)
        return text


def test_a_registrators_and_a_chefs_day(day: Day) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    read = Reader(day.app)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = _login(browser, day.url, REGISTRATOR)
        inbox = read(page)
        assert "/inkorg" in page.url and "Pappa föll" in inbox
        page.screenshot(path=str(SHOTS / "inkorg.png"), full_page=True)
        # The review queue by urgency: the possible serious incident first.
        first = page.locator("table.cases tbody tr").first.inner_text()
        assert "Pappa föll" in first

        page.goto(f"{day.url}/arenden")  # search, then filter
        page.fill("#q", "Björkvägen")
        page.click("text=Visa")
        found = read(page)
        assert "Gatlampa" in found and "Trottoaren" not in found
        page.goto(f"{day.url}/arenden")
        page.select_option("#f-category", "berom")
        page.click("text=Visa")
        assert "Tack" in read(page) and "Gatlampa" not in read(page)
        with page.expect_download() as download:  # export what the filter shows
            page.click("text=CSV")
        exported = Path(download.value.path()).read_text("utf-8-sig")
        assert "Tack" in exported and "Gatlampa" not in exported
        assert ids_in(exported, read.ids) == []

        page.goto(f"{day.url}/cases/{day.cases['mat']}")  # open, correct
        read(page)
        page.select_option("#category", "synpunkt")  # a wish, not a complaint
        page.click("text=Spara och markera granskat")
        assert "Rättat" in read(page)
        with day.app.sessions() as session:
            assert session.get_one(Case, day.cases["mat"]).category == "synpunkt"
        page.screenshot(path=str(SHOTS / "arende.png"), full_page=True)

        page.goto(f"{day.url}/inkorg")  # confirm two in bulk
        for key in ("tack", "fall"):
            page.check(f"#pick-{day.cases[key]}")
        page.click("text=Bekräfta markerade")
        read(page)
        with day.app.sessions() as session:
            waiting = session.scalars(select(Case.id).where(Case.needs_review.is_(True))).all()
        assert day.cases["tack"] not in waiting and day.cases["fall"] not in waiting

        page.goto(f"{day.url}/inbound/{day.quarantined}")  # read and release
        assert "Snoret" in read(page)
        page.click("text=Behandla igen")
        read(page)
        with day.app.sessions() as session:
            released = session.get_one(Inbound, day.quarantined)
            assert released.status != "quarantined" or released.case_id is not None

        admin = _login(browser, day.url, "admin@ekby.example")
        admin.goto(f"{day.url}/admin")
        read(admin)
        admin.screenshot(path=str(SHOTS / "regler.png"), full_page=False)

        chef = _login(browser, day.url, CHEF)  # the chef's own queue, by deadline
        queue = read(chef)
        assert "/enhet" in chef.url and "Gatlampa" in queue and "Maten" not in queue
        chef.goto(f"{day.url}/cases/{day.cases['bank']}")  # not ours: back with a note
        read(chef)
        chef.fill("#return-note", "Stället ligger på Solgårdens tomt, inte på kommunens gata.")
        chef.click("text=Lämna tillbaka till registratorn")
        read(chef)
        with day.app.sessions() as session:
            back = session.get_one(Case, day.cases["bank"])
            assert back.needs_review and back.enhet == "registrator"
        chef.goto(f"{day.url}/cases/{day.cases['lampa']}")  # återkoppling, sent
        chef.fill("#note", "Lampan är lagad. Tack för att du hörde av dig!")
        chef.click("text=Skicka som återkoppling till avsändaren")
        assert "skickad" in read(chef)

        phone = _login(browser, day.url, REGISTRATOR, width=375)
        read(phone)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        phone.screenshot(path=str(SHOTS / "inkorg-mobil.png"), full_page=True)
        browser.close()
    assert len(read.seen) >= 15
