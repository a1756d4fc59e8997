"""The web application in headless Chromium (Playwright driving Debian's
/usr/bin/chromium, as ../shared/testing.md describes): a registrator logs in,
corrects a case's enhet, sees it leave the review list, and the chef sees it
in the own view; the statistics page draws its charts; a hostile mail
renders inert. Screenshots of the pages are
saved under tests/artifacts/ (or $SYNPUNKT_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import User
from classify.triage import Category, Triage
from config.settings import Settings
from review.passwords import hash_password
from service.app import App, build_app
from service.pipeline import process_inbound
from tests.support import FixedClassifier, serve_web

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SYNPUNKT_TEST_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "artifacts"))
PASSWORD = "ett långt lösenord 2026"
HOSTILE = """<html><head><style>body { background: url(http://evil.example/css-leak); }</style>
</head><body><p>Hej! Parken är <b>skräpig</b>.</p>
<script>window.__pwned = "script";</script>
<img src="http://evil.example/pixel.png" onerror="window.__pwned = 'onerror'">
<img src="x" onerror="window.__pwned = 'onerror2'">
<div style="background-image: url('http://evil.example/style-leak')">Stil</div>
<iframe src="http://evil.example/frame"></iframe>
<svg><image href="http://evil.example/svg"/></svg>
<a href="javascript:window.__pwned='link'">klicka</a>
</body></html>"""


def _mail(key: str, subject: str, body: str, html: bool = False) -> bytes:
    kind = "text/html" if html else "text/plain"
    return (f"From: Anna Andersson <anna.{key}@example.se>\nTo: synpunkter@ekby.example\n"
            f"Subject: {subject}\nMessage-ID: <{key}@example.se>\nMIME-Version: 1.0\n"
            f"Content-Type: {kind}; charset=utf-8\n\n{body}\n").encode()


def _register(app: App, key: str, raw: bytes, triage: Triage) -> int:
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
    case_id = process_inbound(replace(app, classifier=FixedClassifier(triage)), inbound).case_id
    assert case_id is not None
    return case_id


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is needed (tests/run installs Debian's chromium)")
    app = build_app(Settings(home=tmp_path / "home"))
    upgrade(app.engine)
    with app.sessions.begin() as session:
        for email, role, enhet in (("eva@ekby.example", "registrator", None),
                                   ("gata@ekby.example", "chef", "gata_park")):
            session.add(User(email=email, role=role, enhet=enhet, created_at=datetime.now(UTC),
                             password_hash=hash_password(PASSWORD)))
    sure = Triage(category=Category.KLAGOMAL, confidence=0.93, needs_review=False)
    unsure = Triage(category=Category.SYNPUNKT, confidence=0.41, needs_review=True,
                    review_reasons=("osäker kategori",))
    cases = {
        "sure": _register(app, "a", _mail("a", "Hemtjänsten", "Hemtjänsten i Lövsta kom inte "
                                          "i tid i går kväll."), sure),
        "unsure": _register(app, "b", _mail("b", "Skräp", "Det ligger mycket skräp vid "
                                            "dammen, kan någon titta på det?"), unsure),
        "hostile": _register(app, "c", _mail("c", "Parken", HOSTILE, html=True), sure),
    }
    with serve_web(app) as url:
        yield url, cases


def _login(browser: object, url: str, email: str, width: int = 1280) -> object:
    context = browser.new_context(viewport={"width": width, "height": 900},  # type: ignore[attr-defined]
                                  locale="sv-SE", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_registrator_corrects_a_case_and_the_chef_sees_it(site: tuple[str, dict[str, int]]
                                                          ) -> None:
    from playwright.sync_api import sync_playwright

    url, cases = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = _login(browser, url, "eva@ekby.example")
        assert page.url.endswith("/inkorg")  # type: ignore[attr-defined]
        review = page.locator("table").first  # type: ignore[attr-defined]
        assert review.locator(f'a[href="/cases/{cases["unsure"]}"]').count() == 1
        page.screenshot(path=str(ARTIFACTS / "inkorg.png"), full_page=True)  # type: ignore[attr-defined]

        page.click(f'a[href="/cases/{cases["unsure"]}"] >> nth=0')  # type: ignore[attr-defined]
        page.select_option("#enhet", "gata_park")  # type: ignore[attr-defined]
        page.select_option("#category", "klagomal")  # type: ignore[attr-defined]
        page.click("text=Spara och markera granskat")  # type: ignore[attr-defined]
        assert "Rättat och granskat" in page.inner_text("main")  # type: ignore[attr-defined]
        page.screenshot(path=str(ARTIFACTS / "arende.png"), full_page=True)  # type: ignore[attr-defined]

        page.goto(f"{url}/inkorg")  # type: ignore[attr-defined]
        review = page.locator("table").first  # type: ignore[attr-defined]
        assert review.locator(f'a[href="/cases/{cases["unsure"]}"]').count() == 0

        chef = _login(browser, url, "gata@ekby.example")
        assert chef.url.endswith("/enhet")  # type: ignore[attr-defined]
        assert chef.locator(f'a[href="/cases/{cases["unsure"]}"]').count() == 1  # type: ignore[attr-defined]
        chef.screenshot(path=str(ARTIFACTS / "enhet.png"), full_page=True)  # type: ignore[attr-defined]

        page.goto(f"{url}/statistik")  # type: ignore[attr-defined]
        assert page.locator("svg.chart").count() >= 6  # type: ignore[attr-defined]
        assert page.locator("svg.chart rect").count() >= 5  # type: ignore[attr-defined]
        widest = page.evaluate(  # type: ignore[attr-defined]
            "Math.max(...[...document.querySelectorAll('svg.chart rect')]"
            ".map(r => r.getBoundingClientRect().width))")
        assert widest > 100  # drawn at full size, not blocked by the CSP
        page.screenshot(path=str(ARTIFACTS / "statistik.png"), full_page=True)  # type: ignore[attr-defined]
        browser.close()


def test_a_hostile_mail_renders_inert(site: tuple[str, dict[str, int]]) -> None:
    from playwright.sync_api import sync_playwright

    url, cases = site
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = _login(browser, url, "eva@ekby.example")
        outside: list[str] = []
        dialogs: list[str] = []
        page.on("request", lambda r: outside.append(r.url)  # type: ignore[attr-defined]
                if not r.url.startswith(url) else None)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
        page.goto(f"{url}/cases/{cases['hostile']}")  # type: ignore[attr-defined]
        page.click("summary")  # open the sanitised original  # type: ignore[attr-defined]
        page.wait_for_timeout(300)  # type: ignore[attr-defined]
        original = page.inner_html(".original")  # type: ignore[attr-defined]
        assert "skräpig" in original
        for bad in ("script", "onerror", "style", "iframe", "svg", "javascript:", "evil.example"):
            assert bad not in original.lower(), bad
        page.click(".original a")  # the javascript: link lost its href  # type: ignore[attr-defined]
        assert page.evaluate("typeof window.__pwned") == "undefined"  # type: ignore[attr-defined]
        assert outside == [] and dialogs == []
        page.screenshot(path=str(ARTIFACTS / "arende-html.png"), full_page=True)  # type: ignore[attr-defined]
        browser.close()
