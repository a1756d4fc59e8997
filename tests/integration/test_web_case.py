"""The case page and what surrounds it, through the real HTTP interface on a
real SQLite register: Swedish error pages in the site's layout, actions
allowed per status (the server refuses, the page hides), a correction that
recomputes what it derives, the chef's "fel enhet", reading and releasing a
set-aside message, the page in words (no configuration id, no Python repr)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.inbound import store_raw
from cases.lifecycle import CaseClosedError, record_feedback
from cases.models import Case, Deadline, Event, Inbound
from config.words import FLAG, Words
from review.app import create_app
from tests.integration import test_web
from tests.integration.test_web import (
    ADMIN,
    CHEF_GATA,
    CHEF_NORR,
    PASSWORD,
    REGISTRATOR,
    Site,
    csrf_of,
)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """test_web's site: users of each role, three cases (a fresh one per test)."""
    built: Site = test_web.site.__wrapped__(tmp_path)  # type: ignore[attr-defined]
    return built


def _main(page: str) -> str:
    """The page's visible text inside <main>, tags and attribute values removed."""
    body = page.split("<main>", 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def _unlabelled(page: str) -> list[str]:
    """Form fields (not hidden ones or checkboxes) without a <label for=…> of their own."""
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    out = []
    for field in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        if 'type="hidden"' in field or 'type="checkbox"' in field:
            continue
        found = re.search(r'id="([^"]+)"', field)
        if found is None or found.group(1) not in labelled:
            out.append(field)
    return out


def _case(site: Site, key: str) -> Case:
    with site.app.sessions() as session:
        case = session.get_one(Case, site.cases[key])
        session.expunge(case)
        return case


# --- 1. error pages --------------------------------------------------------

def test_errors_are_swedish_pages_in_the_layout_and_machines_keep_json(site: Site) -> None:
    registrator = site.login(REGISTRATOR)
    for path, status, words in (("/cases/999999", 404, "Ärendet finns inte"),
                                ("/finns-inte", 404, "Sidan finns inte"),
                                ("/cases/abc", 422, "ärendenummer"),
                                ("/admin", 403, "Din roll får inte")):
        answer = registrator.get(path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert '<html lang="sv">' in answer.text and 'href="/inkorg"' in answer.text, path
        assert words in answer.text and '"detail"' not in answer.text, path
    wrong_method = registrator.put("/inkorg")
    assert wrong_method.status_code == 405 and "Det går inte att göra så här" in wrong_method.text
    token = csrf_of(registrator.get("/inkorg").text)
    bad_form = registrator.post(f"/cases/{site.cases['norr']}/note", data={"csrf": token})
    assert bad_form.status_code == 422 and "anteckning" in bad_form.text
    # Not logged in: a page too, with the way in.
    anonymous = site.client.get("/finns-inte")
    assert anonymous.status_code == 404 and 'href="/login"' in anonymous.text
    # What machines call keeps its plain answers.
    assert site.client.get("/health").json()["status"] == "ok"
    hook = site.client.get("/sms/46elks")
    assert hook.status_code == 405 and hook.headers["content-type"] == "application/json"


def test_a_chef_following_a_link_to_another_enhets_case_is_told_why(site: Site) -> None:
    chef = site.login(CHEF_NORR)
    answer = chef.get(f"/cases/{site.cases['gata']}")
    assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
    text = _main(answer.text)
    assert "Ärendet hör till en annan enhet" in text and "din egen enhet" in text
    assert 'href="/enhet"' in answer.text and "Min enhets ärenden" in answer.text  # the layout


def test_a_crash_is_a_swedish_page_with_the_security_headers(site: Site) -> None:
    broken = create_app(site.app, lambda _i: None)

    @broken.get("/krasch")
    def crash() -> None:
        raise RuntimeError("boom")

    client = TestClient(broken, raise_server_exceptions=False)
    answer = client.get("/krasch")
    assert answer.status_code == 500 and "Något gick fel hos oss" in answer.text
    assert "boom" not in answer.text and "Traceback" not in answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"]


# --- 3. actions per status ---------------------------------------------------

def test_a_closed_case_takes_no_second_close_no_feedback_and_no_move(site: Site) -> None:
    chef = site.login(CHEF_NORR)
    case = site.cases["norr"]
    token = csrf_of(chef.get(f"/cases/{case}").text)
    closed = chef.post(f"/cases/{case}/note", data={"note": "Klart.", "kind": "close",
                                                    "csrf": token})
    assert "Ärendet är avslutat." in closed.text
    page = closed.text
    assert 'value="close"' not in page and 'value="feedback"' not in page
    assert f'action="/cases/{case}/fel-enhet"' not in page
    with site.app.sessions() as session:
        events = session.scalar(select(Event.id).where(Event.case_id == case)
                                .order_by(Event.id.desc()).limit(1))
    again = chef.post(f"/cases/{case}/note", data={"note": "Igen.", "kind": "close",
                                                   "csrf": token})
    assert "redan avslutat" in again.text
    feedback = chef.post(f"/cases/{case}/note", data={"note": "Svar.", "kind": "feedback",
                                                      "csrf": token})
    assert "återkoppling kan inte registreras" in feedback.text
    registrator = site.login(REGISTRATOR)
    reg_page = registrator.get(f"/cases/{case}").text
    assert 'name="enhet" value="hemtjanst_norr"' in reg_page  # no enhet to choose
    moved = registrator.post(f"/cases/{case}/correct", data={
        "category": "klagomal", "enhet": "gata_park", "csrf": csrf_of(reg_page)})
    assert "det kan inte flyttas" in moved.text
    with site.app.sessions() as session:
        after = session.get_one(Case, case)
        assert (after.status, after.enhet) == ("closed", "hemtjanst_norr")
        assert session.scalar(select(Event.id).where(Event.case_id == case)
                              .order_by(Event.id.desc()).limit(1)) == events
        # The labels may still be put right for the statistics; no deadline reopens.
    relabel = registrator.post(f"/cases/{case}/correct", data={
        "category": "synpunkt", "enhet": "hemtjanst_norr", "csrf": csrf_of(reg_page)})
    assert "Rättat och granskat" in relabel.text
    with site.app.sessions() as session:
        assert session.get_one(Case, case).category == "synpunkt"
        assert session.scalars(select(Deadline).where(
            Deadline.case_id == case, Deadline.met_at.is_(None))).all() == []
    note = chef.post(f"/cases/{case}/note", data={"note": "Efteråt.", "kind": "note",
                                                  "csrf": token})
    assert "Anteckningen är sparad." in note.text


def test_feedback_does_not_meet_the_same_day_assessment(site: Site) -> None:
    case = site.cases["norr"]
    with site.app.sessions.begin() as session:
        row = session.get_one(Case, case)
        session.add(Deadline(case_id=case, kind="allvarlig_bedomning", due=row.received_at.date(),
                             description="bedömning av en möjlig allvarlig händelse",
                             promised=False))
    with site.app.sessions.begin() as session:
        record_feedback(session, case, "Ringde.", "user:lars", site.app.clock())
    with site.app.sessions() as session:
        row = session.get_one(Case, case)
        open_kinds = [d.kind for d in row.deadlines if d.met_at is None]
        assert row.status == "feedback_given" and open_kinds == ["allvarlig_bedomning"]
    chef = site.login(CHEF_NORR)
    page = chef.get(f"/cases/{case}").text
    assert 'value="assessed"' in page
    done = chef.post(f"/cases/{case}/note", data={"note": "Ingen lex Sarah.", "kind": "assessed",
                                                  "csrf": csrf_of(page)})
    assert "Bedömningen är registrerad" in done.text and 'value="assessed"' not in done.text
    with site.app.sessions.begin() as session:
        assert all(d.met_at for d in session.get_one(Case, case).deadlines)
        session.get_one(Case, case).status = "closed"
    with site.app.sessions.begin() as session, pytest.raises(CaseClosedError):
        record_feedback(session, case, "x", "user:lars", site.app.clock())


# --- 2. a correction recomputes what it derives ------------------------------

def test_unticking_extern_clears_the_referral_and_the_old_rule(site: Site) -> None:
    case = site.cases["gata"]
    with site.app.sessions.begin() as session:
        row = session.get_one(Case, case)
        row.extern, row.flags = "forsakringskassan", ["extern"]
        row.rule = "forsakringskassan"
        row.explanation = ("Regel forsakringskassan (Försäkringskassans frågor): x. Frågan hör "
                           "till forsakringskassan: avsändaren lotsas dit.")
    registrator = site.login(REGISTRATOR)
    page = registrator.get(f"/cases/{case}").text
    assert "hänvisas till Försäkringskassan" in _main(page)
    assert "forsakringskassan" not in _main(page)  # ids are not shown
    done = registrator.post(f"/cases/{case}/correct", data={
        "category": "klagomal", "enhet": "hemtjanst_norr", "csrf": csrf_of(page)})
    text = _main(done.text)
    assert "hänvisas till" not in text
    assert "hänvisning: Försäkringskassan → ingen" in text  # the timeline says what went
    assert "Registratorn (eva@ekby.example) flyttade ärendet hit från Gata och park" in text
    assert f"flaggor: {FLAG['extern']} → inga" in text and "['extern']" not in text
    assert "Fördelat av en person" in text
    with site.app.sessions() as session:
        row = session.get_one(Case, case)
        assert (row.extern, row.rule, row.flags) == (None, None, [])
    today = registrator.get("/inkorg").text.split('id="idag"', 1)[1].split('id="utskick"')[0]
    assert f'href="/cases/{case}"' not in today  # not listed as routed by a rule
    assert f'href="/cases/{site.cases["norr"]}"' in today  # the machine's own still are


def test_the_case_page_speaks_in_words(site: Site) -> None:
    registrator = site.login(REGISTRATOR)
    case = site.cases["norr"]
    with site.app.sessions.begin() as session:
        session.get_one(Case, case).flags = ["allvarlig_handelse", "felanmalan"]
    page = registrator.get(f"/cases/{case}").text
    text = _main(page)
    assert "möjlig allvarlig händelse" in text and "felanmälan" in text
    assert "via e-post" in text and "Status: öppet" in text and "Hemtjänst Norr" in text
    for raw_id in ("allvarlig_handelse", "felanmalan", "hemtjanst_norr", " email",
                   "forsta_aterkoppling", "case.registered"):
        assert raw_id not in text, raw_id
    assert text.count("Europe/Stockholm") == 1
    moved = registrator.post(f"/cases/{case}/correct", data={
        "category": "berom", "enhet": "gata_park", "flags": ["extern", "overklagande"],
        "csrf": csrf_of(page)})
    for key in site.cases:
        shown = _main(registrator.get(f"/cases/{site.cases[key]}").text)
        assert _configuration_ids(site) & set(re.findall(r"[\w.-]+", shown)) == set(), key
    assert "överklagande" in _main(moved.text)


def _configuration_ids(site: Site) -> set[str]:
    """Ids from the configuration that are not also the word a person reads."""
    kommun = site.app.kommun
    ids = {e.id for _, _, e in kommun.organisation.enheter()}
    ids |= {x.id for x in kommun.organisation.externa_instanser}
    ids |= set(kommun.routines.profiler)
    ids |= {f.typ for r in kommun.routines.profiler.values() for f in r.frister}
    ids |= set(FLAG) | {"klagomal", "berom", "email", "webform", "allvarlig_bedomning"}
    # An id that is also a plain word of the names ("gymnasium", "besked") is a word.
    words = Words(kommun)
    names = " ".join([*(e.namn for _, _, e in kommun.organisation.enheter()),
                      *(words.routine(r) for r in kommun.routines.profiler),
                      *(words.deadline(f.typ) for r in kommun.routines.profiler.values()
                        for f in r.frister), *FLAG.values(), "synpunkt", "sms"]).lower()
    return ids - set(re.findall(r"[\w.-]+", names))


# --- 6. the chef's "fel enhet" ------------------------------------------------

def test_a_chef_returns_a_misrouted_case_with_a_note(site: Site) -> None:
    case = site.cases["norr"]
    other = site.login(CHEF_GATA)
    token = csrf_of(other.get("/enhet").text)
    refused = other.post(f"/cases/{case}/fel-enhet", data={"note": "x", "csrf": token})
    assert refused.status_code == 403
    registrator = site.login(REGISTRATOR)
    reg_token = csrf_of(registrator.get("/inkorg").text)
    assert registrator.post(f"/cases/{case}/fel-enhet", data={
        "note": "x", "csrf": reg_token}).status_code == 403  # the chef's, not the registrator's
    chef = site.login(CHEF_NORR)
    page = chef.get(f"/cases/{case}").text
    assert f'action="/cases/{case}/fel-enhet"' in page
    assert chef.post(f"/cases/{case}/fel-enhet", data={"note": "x"}).status_code == 403  # CSRF
    done = chef.post(f"/cases/{case}/fel-enhet", data={
        "note": "Gäller Söders hemtjänst, inte vår.", "csrf": csrf_of(page)})
    assert done.status_code == 200 and "tillbaka hos registratorn" in done.text
    with site.app.sessions() as session:
        row = session.get_one(Case, case)
        assert (row.enhet, row.needs_review) == ("registrator", True)
        event = session.scalars(select(Event).where(Event.case_id == case,
                                                    Event.kind == "case.returned")).one()
        assert event.detail["note"] == "Gäller Söders hemtjänst, inte vår."
    assert chef.get(f"/cases/{case}").status_code == 403  # no longer the chef's
    review = registrator.get("/inkorg").text.split('id="idag"', 1)[0]
    assert f'href="/cases/{case}"' in review
    shown = _main(registrator.get(f"/cases/{case}").text)
    assert "lämnade tillbaka ärendet" in shown and "Gäller Söders hemtjänst, inte vår." in shown
    assert "återlämnat till registratorn från Hemtjänst Norr" in shown


def test_a_closed_case_is_not_returned(site: Site) -> None:
    case = site.cases["norr"]
    with site.app.sessions.begin() as session:
        session.get_one(Case, case).status = "closed"
    chef = site.login(CHEF_NORR)
    page = chef.get(f"/cases/{case}").text
    assert "fel-enhet" not in page
    done = chef.post(f"/cases/{case}/fel-enhet", data={"note": "x", "csrf": csrf_of(page)})
    assert "kan inte lämnas tillbaka" in done.text
    assert _case(site, "norr").enhet == "hemtjanst_norr"


# --- 5. reading and releasing a set-aside message ----------------------------

HTML_MAIL = (b"From: Kim <kim@example.se>\nTo: synpunkter@ekby.example\nSubject: Semester\n"
             b"Message-ID: <q1@example.se>\nMIME-Version: 1.0\nContent-Type: multipart/alternative;"
             b" boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\n\nJag \xc3\xa4r "
             b"borta.\n--b\nContent-Type: text/html; charset=utf-8\n\n<p>Jag <b>\xc3\xa4r</b> "
             b"borta.<script>alert(1)</script><img src=\"https://evil.example/x.png\"></p>\n"
             b"--b--\n")


def _set_aside(site: Site, key: str, raw: bytes, status: str, reason: str) -> int:
    with site.app.sessions.begin() as session:
        row = store_raw(session, "test", key, raw, received_at=datetime.now(UTC))
        inbound = session.get_one(Inbound, row.inbound_id)
        inbound.status, inbound.reason = status, reason
        return row.inbound_id


def test_the_registrator_reads_a_set_aside_message_and_releases_it(site: Site) -> None:
    ignored = _set_aside(site, "q1", HTML_MAIL, "ignored",
                         "auto-reply: autosvar (ämnesraden: Semester)")
    broken = _set_aside(site, "q2", b"\x00\x01 inte ett brev", "quarantined",
                        "unreadable-headers: meddelandet saknar läsbara brevhuvuden")
    queued: list[int] = []
    client = TestClient(create_app(site.app, queued.append))
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"email": REGISTRATOR, "password": PASSWORD, "csrf": token})
    inbox = client.get("/inkorg").text
    assert f'href="/inbound/{ignored}"' in inbox
    page = client.get(f"/inbound/{ignored}")
    assert page.status_code == 200
    text = _main(page.text)
    assert "Autosvar:" in text and "autosvar (ämnesraden: Semester)" in text
    assert "lagt åt sidan" in text and "auto-reply" not in text
    assert "<b>är</b>" in page.text and "<script" not in page.text
    assert "evil.example" not in page.text
    assert "Släpp igenom som ärende" in text and "kim@example.se" in text
    unreadable = _main(client.get(f"/inbound/{broken}").text)
    assert "oläsliga brevhuvuden" in unreadable.lower() and "inte ett brev" in unreadable
    assert "Behandla igen" in unreadable
    with site.app.sessions() as session:
        assert session.scalar(select(Event).where(Event.kind == "inbound.read",
                                                  Event.inbound_id == ignored)) is not None
    done = client.post(f"/inbound/{ignored}/reprocess", data={"csrf": csrf_of(page.text)})
    assert "Släppt igenom" in done.text and queued == [ignored]
    with site.app.sessions() as session:
        row = session.get_one(Inbound, ignored)
        assert (row.status, row.released) == ("received", True)
    assert client.get(f"/inbound/{ignored}").status_code == 404  # no longer set aside
    chef = site.login(CHEF_NORR)
    assert chef.get(f"/inbound/{broken}").status_code == 403


# --- 7. the rules editor and the user form ------------------------------------

def test_the_rules_editor_numbers_the_lines_and_marks_the_errors_line(site: Site) -> None:
    admin = site.login(ADMIN)
    page = admin.get("/admin").text
    live = (site.app.kommun.directory / "routing.yaml").read_text("utf-8")
    assert live.startswith("# Ekby kommun: regler för fördelning")  # the Swedish header
    assert '<label for="text-1">' in page and '<label for="note-1">' in page
    assert _unlabelled(page) == [] and "style=" not in page
    assert 'id="text-1"' in page and 'id="text-2"' in page
    assert '<span>1</span>\n<span>2</span>' in page  # line numbers beside the text
    assert 'action="/admin/fil/routing.yaml#resultat-routing.yaml"' in page
    lines = live.splitlines()
    bad_line = next(i for i, line in enumerate(lines)
                    if "enhet: gata_park" in line and not line.lstrip().startswith("#")) + 1
    lines[bad_line - 1] = lines[bad_line - 1].replace("gata_park", "gata_som_inte_finns")
    draft = "\n".join(lines) + "\n"
    answer = admin.post("/admin/fil/routing.yaml", data={
        "text": draft, "action": "prova", "note": "mitt utkast", "csrf": csrf_of(page)})
    assert answer.status_code == 422
    marked = re.search(r'<span class="bad" id="resultat-routing\.yaml"[^>]*>(\d+)</span>',
                       answer.text)
    assert marked is not None
    line = int(marked.group(1))
    assert abs(line - bad_line) <= 3, (line, bad_line)  # the rule's own lines
    assert f"Felet är på rad {line}" in answer.text
    assert "gata_som_inte_finns" in answer.text  # what was typed is kept ...
    assert 'value="mitt utkast"' in answer.text  # ... and the note too
    assert (site.app.kommun.directory / "routing.yaml").read_text("utf-8") == live


def test_the_user_form_keeps_what_was_typed(site: Site) -> None:
    admin = site.login(ADMIN)
    page = admin.get("/admin/anvandare").text
    assert "Hemtjänst Norr" in page and "hemtjanst_norr</td>" not in page
    assert _unlabelled(page) == []
    bad = admin.post("/admin/anvandare", data={
        "email": "ny.chef@ekby.example", "role": "chef", "enhet": "gata_park",
        "password": "kort", "csrf": csrf_of(page)})
    assert bad.status_code == 422 and "minst 12 tecken" in bad.text
    assert 'value="ny.chef@ekby.example"' in bad.text
    assert '<option value="chef" selected>' in bad.text
    assert '<option value="gata_park" selected>' in bad.text
    assert "kort" not in re.findall(r'name="password"[^>]*', bad.text)[0]


def test_an_assessment_still_owed_after_feedback_stays_in_the_chefs_digest(site: Site) -> None:
    from datetime import timedelta

    from service.reminders import _open_deadlines

    case = site.cases["norr"]
    with site.app.sessions.begin() as session:
        row = session.get_one(Case, case)
        session.add(Deadline(case_id=case, kind="allvarlig_bedomning",
                             due=row.received_at.date() - timedelta(days=1),
                             description="bedömning", promised=False))
    with site.app.sessions.begin() as session:
        record_feedback(session, case, "Ringde.", "user:lars", site.app.clock())
    with site.app.sessions() as session:
        kinds = [(d.kind, c.id) for d, c in _open_deadlines(session)]
    assert ("allvarlig_bedomning", case) in kinds
    assert ("aterkoppling", case) not in kinds
