"""The lists (/inkorg, /arenden, /enhet) through the real ASGI app on a real
SQLite register: search, filters and paging done by the database, the
review queue by urgency, a chef kept to the own enhet whatever is asked,
bulk confirm (with its CSRF token), CSV/XLSX export, and no configuration
id in what a person reads."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cases.models import Case, Contact, Deadline, Event, Inbound
from config.words import CATEGORY, CHANNEL, FLAG, Words
from routing.load import load_kommun_rules
from tests.integration import test_web
from tests.integration.test_web import CHEF_GATA, CHEF_NORR, REGISTRATOR, Site, csrf_of

RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """test_web's site (three cases through the pipeline) and 60 more of
    gata_park written straight to the register: enough for two pages."""
    built: Site = test_web.site.__wrapped__(tmp_path)  # type: ignore[attr-defined]
    with built.app.sessions.begin() as session:
        for i in range(60):
            case = _case(i + 100, enhet="gata_park", subject=f"Gropar i vägen nummer {i}",
                         needs_review=False, received=RECEIVED + timedelta(hours=i),
                         channel="sms" if i % 3 == 0 else "email")
            session.add(case)
            session.flush()
            session.add(Deadline(case_id=case.id, kind="aterkoppling", due=date(2027, 1, 1)
                                 + timedelta(days=i), description="återkoppling"))
            session.add(Contact(case_id=case.id, name=f"Bo Gatström {i}",
                                email=f"bo{i}@example.se"))
    return built


def _case(number: int, enhet: str, subject: str, needs_review: bool, received: datetime,
          **more: object) -> Case:
    fields: dict[str, object] = {
        "diarienummer": f"EKBY 2026/{number:04d}", "year": 2026, "number": number,
        "channel": "email", "subject": subject, "text": subject, "enhet": enhet,
        "routine": "soderkoping", "status": "open", "received_at": received,
        "registered_at": received, "category": "klagomal", "flags": [],
        "needs_review": needs_review, "priority": "normal", "confidence": 0.5}
    fields.update(more)
    return Case(**fields)


def visible(page: str) -> str:
    """What a person reads: the text between the tags, <head> left out."""
    body = page.split("<body>", 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_paging_keeps_the_filters_and_shows_the_total(site: Site) -> None:
    registrator = site.login(REGISTRATOR)
    first = registrator.get("/arenden").text
    assert "63 ärenden, sida 1 av 2" in first
    assert first.count('href="/cases/') == 50
    filtered = registrator.get("/arenden", params={"enhet": "gata_park", "channel": "email"})
    assert "41 ärenden" in filtered.text  # 61 gata_park cases, 20 of them by sms
    page = registrator.get("/arenden", params={"enhet": "gata_park", "sida": "2"}).text
    assert "61 ärenden, sida 2 av 2" in page and page.count('href="/cases/') == 11
    assert 'href="/arenden?enhet=gata_park"' in page  # page 1, filter kept
    past = registrator.get("/arenden", params={"sida": "99"}).text
    assert "sida 2 av 2" in past  # past the end: the last page


def test_the_inboxs_other_sections_page_too(site: Site) -> None:
    now = site.app.clock()
    with site.app.sessions.begin() as session:
        for i in range(30):
            session.add(Inbound(source="test", source_key=f"auto-{i}", raw=b"x",
                                sha256=f"{i:064d}", received_at=now - timedelta(hours=i),
                                status="ignored" if i % 2 else "quarantined",
                                reason="auto-submitted: frånvaromeddelande"))
    registrator = site.login(REGISTRATOR)
    first = registrator.get("/inkorg", params={"q": "Fråga"}).text
    aside = first.split('id="ovrigt"')[1]
    assert "(30)" in aside and aside.count("/reprocess") == 25 and "sida 1 av 2" in aside
    assert "lagt åt sidan" in aside and "i karantän" in aside and "ignored" not in visible(aside)
    assert 'href="/inkorg?q=Fr%C3%A5ga&amp;ovrigt_sida=2#ovrigt"' in aside  # the filter kept
    second = registrator.get("/inkorg", params={"q": "Fråga", "ovrigt_sida": "2"}).text
    assert second.split('id="ovrigt"')[1].count("/reprocess") == 5


def test_search_and_filters(site: Site) -> None:
    registrator = site.login(REGISTRATOR)

    def total(**params: str) -> int:
        text = registrator.get("/arenden", params=params).text
        found = re.search(r"(\d+) ärenden?\b", visible(text))
        assert found is not None, text
        return int(found.group(1))

    assert total(q="EKBY 2026/0107") == 1
    assert total(q="nummer 5") == 11  # 5, 50…59
    assert total(q="bo12@example") == 1  # the sender's address
    assert total(q="GATSTRÖM 3") == 11
    assert total(q="100%_") == 0  # LIKE's wildcards are plain characters
    with site.app.sessions.begin() as session:
        case = session.scalar(select(Case).where(Case.number == 105))
        assert case is not None
        case.status, case.flags, case.category = "closed", ["felanmalan"], "berom"
    assert total(status="closed") == 1
    assert total(flag="felanmalan") >= 1 and total(category="berom") == 1
    assert total(since="2026-11-03", until="2026-11-03", enhet="gata_park") == 24
    assert total(overdue="1") == 0
    assert total(priority="akut") == 0
    bad = registrator.get("/arenden", params={"since": "igår"}).text
    assert "är inget datum" in bad


def test_the_review_queue_is_ordered_by_urgency(site: Site) -> None:
    with site.app.sessions.begin() as session:
        for number, subject, more in (
                (900, "Vanlig sen frist", {}),
                (901, "Tidig frist", {}),
                (902, "Möjlig lex Sarah", {"flags": ["allvarlig_handelse"]}),
                (903, "Akut ärende", {"priority": "akut"})):
            case = _case(number, "hemtjanst_norr", subject, True, RECEIVED, **more)
            session.add(case)
            session.flush()
            due = date(2026, 12, 1) if number == 901 else date(2027, 3, 1)
            session.add(Deadline(case_id=case.id, kind="aterkoppling", due=due,
                                 description="återkoppling"))
    page = site.login(REGISTRATOR).get("/inkorg").text
    queue = page.split('id="idag"')[0]
    order = [queue.index(s) for s in ("Akut ärende", "Möjlig lex Sarah", "Tidig frist",
                                      "Vanlig sen frist")]
    assert order == sorted(order)
    assert '<span class="tag bad">akut</span>' in queue
    assert "möjlig allvarlig händelse" in queue


def test_a_chef_sees_only_the_own_enhet_whatever_is_asked(site: Site) -> None:
    chef = site.login(CHEF_NORR)
    for params in ({}, {"enhet": "gata_park"}, {"q": "Gropar"}, {"q": "EKBY 2026/0100"},
                   {"status": "alla", "enhet": "gata_park", "sida": "2"}):
        page = chef.get("/enhet", params=params)
        assert page.status_code == 200
        assert "i vägen nummer" not in page.text and "Gatlampa" not in page.text, params
        exported = chef.get("/enhet.csv", params=params).text
        assert "i vägen" not in exported and "Gata och park" not in exported, params
    assert "Hemtjänsten" in chef.get("/enhet").text
    for path in ("/arenden.csv", "/arenden.xlsx", "/arenden", "/inkorg"):
        assert chef.get(path).status_code == 403, path
    gata = site.login(CHEF_GATA).get("/enhet", params={"status": "alla"}).text
    assert "61 ärenden" in gata and "Hemtjänsten" not in gata


def test_bulk_confirm_needs_csrf_and_skips_what_is_no_longer_in_review(site: Site) -> None:
    with site.app.sessions.begin() as session:
        ids = []
        for number, more in ((800, {}), (801, {}), (802, {"status": "closed"}),
                             (803, {"category": None})):
            case = _case(number, "gata_park", f"Granska {number}", True, RECEIVED, **more)
            session.add(case)
            session.flush()
            ids.append(case.id)
    registrator = site.login(REGISTRATOR)
    inbox = registrator.get("/inkorg").text
    assert f'name="ids" value="{ids[0]}"' in inbox
    assert f'name="ids" value="{ids[3]}"' not in inbox  # no category: corrected by hand
    for token in (None, "", "fel"):
        data: dict[str, object] = {"ids": [str(i) for i in ids]}
        if token is not None:
            data["csrf"] = token
        assert registrator.post("/inkorg/bekrafta", data=data).status_code == 403
    with site.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "case.confirmed")) == 0
    done = registrator.post("/inkorg/bekrafta", data={
        "ids": [str(i) for i in ids] + ["x", "0"], "csrf": csrf_of(inbox),
        "tillbaka": "/inkorg?q=Granska"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/inkorg?q=Granska&")
    shown = registrator.get(done.headers["location"]).text
    assert "2 ärenden bekräftade" in shown and "2 hoppades över" in shown
    with site.app.sessions() as session:
        states = {c.id: c.needs_review for c in session.scalars(
            select(Case).where(Case.id.in_(ids)))}
        assert states == {ids[0]: False, ids[1]: False, ids[2]: True, ids[3]: True}
        events = session.scalars(select(Event).where(Event.kind == "case.confirmed")).all()
        assert sorted(e.case_id or 0 for e in events) == ids[:2]
        assert {e.actor for e in events} == {f"user:{REGISTRATOR}"}
    assert site.login(CHEF_GATA).post("/inkorg/bekrafta", data={
        "ids": [str(ids[3])], "csrf": csrf_of(site.login(CHEF_GATA).get("/enhet").text)},
    ).status_code == 403


def test_export_csv_and_xlsx(site: Site) -> None:
    with site.app.sessions.begin() as session:
        secret = session.get_one(Case, site.cases["gata"])
        secret.restricted = True
        case = session.scalar(select(Case).where(Case.number == 101))
        assert case is not None
        case.subject = "Om 19400101-0000 och snöröjningen"
        case.flags = ["allvarlig_handelse"]
    registrator = site.login(REGISTRATOR)
    answer = registrator.get("/arenden.csv", params={"enhet": "gata_park"})
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeffDiarienummer;Inkom (svensk tid);")
    lines = text.splitlines()
    assert len(lines) == 1 + 61
    assert "Gatlampa" not in text and "(sekretess)" in text
    assert "19400101-0000" not in text and "möjlig allvarlig händelse" in text
    assert "Gata och park" in text and "e-post" in text and "gata_park" not in text
    row = next(line for line in lines if "EKBY 2026/0101" in line)
    assert "2026-11-02 11:30" in row  # 10:30 UTC in Swedish winter time
    book = load_workbook(io.BytesIO(registrator.get(
        "/arenden.xlsx", params={"q": "snöröjningen"}).content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "Diarienummer" and len(rows) == 2
    assert rows[1][0] == "EKBY 2026/0101" and "19400101-0000" not in str(rows[1])
    assert registrator.get("/arenden.pdf").status_code == 404


def test_no_configuration_id_in_the_visible_text(site: Site) -> None:
    with site.app.sessions.begin() as session:
        session.add(_case(700, "registrator", "Fråga om bidrag", True, RECEIVED,
                          extern="forsakringskassan", channel="webform",
                          flags=["extern", "allvarlig_handelse", "felanmalan"],
                          priority="hög", rule="extern_myndighet"))
    kommun = site.app.kommun
    words = Words(kommun)
    named = ([(e.id, e.namn) for _, _, e in kommun.organisation.enheter()]
             + [(x.id, x.namn) for x in kommun.organisation.externa_instanser]
             + list(FLAG.items()) + list(CATEGORY.items()) + list(CHANNEL.items())
             + [(r.id, "") for r in load_kommun_rules(kommun).rules]
             + [("feedback_given", ""), ("needs_review", ""), ("quarantined", ""),
                ("ignored", "")])
    names = " ".join(name.lower() for _, name in named)  # an id that is also a word is not one
    ids = {i for i, _ in named if i.lower() not in names and i != "registrator"}
    assert {"hemtjanst_norr", "forsakringskassan", "allvarlig_handelse", "email"} <= ids
    pages = {path: site.login(who).get(path).text for path, who in (
        ("/inkorg", REGISTRATOR), ("/arenden", REGISTRATOR),
        ("/arenden?status=alla&sort=urgency", REGISTRATOR), ("/enhet", CHEF_NORR),
        ("/enhet", CHEF_GATA))}
    for path, page in pages.items():
        text = visible(page)
        leaked = sorted(i for i in ids if re.search(rf"(?<![\w@.]){re.escape(i)}(?![\w@])",
                                                    text))
        assert leaked == [], (path, leaked)
    inbox = visible(pages["/inkorg"])
    assert words.extern("forsakringskassan") in inbox and "hög" in inbox
    assert "webbformulär" in inbox


def test_the_lists_fit_a_phone_and_a_laptop(site: Site) -> None:
    """No sideways scrolling of the page at 375 px; at 1366 px the Status
    column is inside the table and the window (a real browser)."""
    from playwright.sync_api import sync_playwright

    from tests.integration.test_web_browser import ARTIFACTS, CHROMIUM
    from tests.support import serve_web

    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with serve_web(site.app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        for who, paths in ((REGISTRATOR, ("/inkorg", "/arenden?sida=2")),
                           (CHEF_GATA, ("/enhet",))):
            for width in (375, 1366):
                page = browser.new_context(viewport={"width": width, "height": 800},
                                           locale="sv-SE").new_page()
                page.goto(f"{url}/login")
                page.fill("#email", who)
                page.fill("#password", test_web.PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state()
                for path in paths:
                    page.goto(url + path)
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    name = path.strip("/").split("?")[0]
                    page.screenshot(path=str(ARTIFACTS / f"lista-{name}-{width}.png"),
                                    full_page=width == 375)
                    assert wide <= width, (who, path, width, wide)
                    if width == 1366:
                        edges = page.evaluate(
                            "(() => { const t = document.querySelector('table.cases');"
                            " const s = t.querySelector('th.status').getBoundingClientRect();"
                            " return [s.right, t.getBoundingClientRect().right]; })()")
                        assert edges[0] <= edges[1] + 1 and edges[1] <= width, (path, edges)
        browser.close()
