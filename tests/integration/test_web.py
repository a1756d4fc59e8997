"""The web application's access rules, through its real HTTP interface
(FastAPI's TestClient over ASGI) on a real SQLite case register: no page
without login, roles checked on the server, chefs kept to their own enhet,
sekretess cases kept from the rest, CSRF on every form, sessions renewed at
login, lockout, and the registrator's correction reaching the chef's view."""

from __future__ import annotations

import email
import email.message
import email.policy
import re
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Event, Inbound, Outbox, User
from cases.queries import labelled_corrections
from classify.corpus import organisation, validate
from classify.triage import Category, Triage
from config.settings import SHIPPED_CONFIG, Settings
from review.app import create_app
from review.passwords import hash_password
from service.app import App, build_app
from service.pipeline import process_inbound
from tests.support import FixedClassifier

PASSWORD = "ett långt lösenord 2026"
REGISTRATOR, CHEF_NORR, CHEF_GATA, ADMIN = ("eva@ekby.example", "lars@ekby.example",
                                            "gata@ekby.example", "admin@ekby.example")


@dataclass
class Site:
    app: App
    client: TestClient
    cases: dict[str, int]

    def login(self, email: str, password: str = PASSWORD) -> TestClient:
        client = TestClient(self.client.app, base_url="http://testserver")
        form = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        answer = client.post("/login", data={"email": email, "password": password,
                                             "csrf": token.group(1)}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _register(app: App, key: str, subject: str, text: str, triage: Triage) -> int:
    raw = (f"From: Anna <anna.{key}@example.se>\nTo: synpunkter@ekby.example\n"
           f"Subject: {subject}\nMessage-ID: <{key}@example.se>\n\n{text}\n").encode()
    app2 = replace(app, classifier=FixedClassifier(triage))
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
    case_id = process_inbound(app2, inbound).case_id
    assert case_id is not None
    return case_id


@pytest.fixture
def site(tmp_path: Path) -> Site:
    config = tmp_path / "ekby"  # the admin tests save rules: never into the shipped files
    shutil.copytree(SHIPPED_CONFIG, config)
    app = build_app(Settings(home=tmp_path / "home", config=config))
    upgrade(app.engine)
    with app.sessions.begin() as session:
        for email, role, enhet in ((REGISTRATOR, "registrator", None),
                                   (CHEF_NORR, "chef", "hemtjanst_norr"),
                                   (CHEF_GATA, "chef", "gata_park"), (ADMIN, "admin", None)):
            session.add(User(email=email, role=role, enhet=enhet,
                             password_hash=hash_password(PASSWORD),
                             created_at=datetime.now(UTC)))
    sure = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)
    cases = {
        "norr": _register(app, "a", "Hemtjänsten", "Hemtjänsten i Lövsta kom inte i går. "
                          "Min mammas personnummer är 19400101-0000.", sure),
        "gata": _register(app, "b", "Gatlampa", "Gatlampan på Ekvägen är trasig.", sure),
        "unsure": _register(app, "c", "Fråga", "Jag undrar över något.", Triage(
            category=Category.SYNPUNKT, confidence=0.4, needs_review=True,
            review_reasons=("osäker kategori",))),
    }
    with app.sessions.begin() as session:
        secret = session.get_one(Case, cases["norr"])
        assert secret.enhet == "hemtjanst_norr"
        gata = session.get_one(Case, cases["gata"])
        assert gata.enhet == "gata_park"
    return Site(app, TestClient(create_app(app, lambda _i: None), client=("127.0.0.1", 50000)),
                cases)


def test_no_page_without_login(site: Site) -> None:
    for path in ("/", "/inkorg", "/arenden", "/enhet", "/admin", f"/cases/{site.cases['norr']}"):
        answer = site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login", path
    posted = site.client.post(f"/cases/{site.cases['norr']}/note", data={"note": "x"},
                              follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == "/login"


def test_a_chef_sees_the_own_enhet_only(site: Site) -> None:
    chef = site.login(CHEF_NORR)
    assert chef.get(f"/cases/{site.cases['norr']}").status_code == 200
    assert chef.get(f"/cases/{site.cases['gata']}").status_code == 403
    for path in ("/inkorg", "/arenden", "/admin"):
        assert chef.get(path).status_code == 403, path
    view = chef.get("/enhet").text
    assert "Hemtjänst Norr" in view and "Gatlampa" not in view


def test_roles_are_checked_on_every_action(site: Site) -> None:
    gata = site.login(CHEF_GATA)
    page = gata.get("/enhet").text
    token = csrf_of(page)
    other = site.cases["norr"]
    assert gata.post(f"/cases/{other}/note", data={"note": "x", "csrf": token}).status_code == 403
    own = site.cases["gata"]
    fix = gata.post(f"/cases/{own}/correct", data={"category": "berom", "enhet": "gata_park",
                                                   "csrf": token})
    assert fix.status_code == 403  # correcting is the registrator's work
    admin = site.login(ADMIN)
    assert admin.get("/admin").status_code == 200
    assert admin.get("/inkorg").status_code == 403


def test_personnummer_are_masked_for_those_who_do_not_handle_the_case(site: Site) -> None:
    case = f"/cases/{site.cases['norr']}"
    assert "19400101-0000" in site.login(CHEF_NORR).get(case).text
    assert "19400101-0000" in site.login(REGISTRATOR).get(case).text
    shown = site.login(ADMIN).get(case).text
    assert "19400101-0000" not in shown and "&lt;PNR&gt;" in shown


def test_sekretess_cases_only_for_the_registrator_and_the_enhets_chef(site: Site) -> None:
    with site.app.sessions.begin() as session:
        session.get_one(Case, site.cases["norr"]).restricted = True
    case = f"/cases/{site.cases['norr']}"
    assert site.login(REGISTRATOR).get(case).status_code == 200
    assert site.login(CHEF_NORR).get(case).status_code == 200
    assert site.login(CHEF_GATA).get(case).status_code == 403
    assert site.login(ADMIN).get(case).status_code == 403


def test_every_form_needs_its_csrf_token(site: Site) -> None:
    registrator = site.login(REGISTRATOR)
    case = site.cases["unsure"]
    for data in ({"category": "berom", "enhet": "gata_park"},
                 {"category": "berom", "enhet": "gata_park", "csrf": "fel"}):
        assert registrator.post(f"/cases/{case}/correct", data=data).status_code == 403
    login = TestClient(site.client.app)
    login.get("/login")
    no_token = login.post("/login", data={"email": REGISTRATOR, "password": PASSWORD},
                          follow_redirects=False)
    assert no_token.status_code == 403


def test_a_correction_moves_the_case_from_review_to_the_chefs_view(site: Site) -> None:
    registrator = site.login(REGISTRATOR)
    inbox = registrator.get("/inkorg").text
    review = inbox.split('id="idag"')[0]
    assert f'href="/cases/{site.cases["unsure"]}"' in review
    token = csrf_of(inbox)
    done = registrator.post(f"/cases/{site.cases['unsure']}/correct",
                            data={"category": "klagomal", "enhet": "gata_park",
                                  "flags": ["felanmalan"], "csrf": token})
    assert done.status_code == 200 and "Rättat och granskat" in done.text
    review = registrator.get("/inkorg").text.split('id="idag"')[0]
    assert f'href="/cases/{site.cases["unsure"]}"' not in review
    assert f'href="/cases/{site.cases["unsure"]}"' in site.login(CHEF_GATA).get("/enhet").text
    with site.app.sessions() as session:
        event = session.scalar(select(Event).where(Event.kind == "case.corrected"))
        assert event is not None and event.actor == f"user:{REGISTRATOR}"
        assert event.detail["labels"] == {"category": "klagomal", "enhet": "gata_park",
                                          "flags": ["felanmalan"]}
        chef = site.app.kommun.organisation.enhet("gata_park")
        assert chef is not None
        notice = session.scalar(select(Outbox).where(Outbox.kind == "underrattelse",
                                                     Outbox.recipient == chef.chef.epost,
                                                     Outbox.case_id == site.cases["unsure"]))
        assert notice is not None
        mail = email.message_from_bytes(notice.body, policy=email.policy.default)
        assert isinstance(mail, email.message.EmailMessage)
        assert "flyttade ärendet hit" in mail.get_content()
        [example] = labelled_corrections(session)  # what `synpunkt train` reads
    assert validate(example, organisation()) == []
    assert (example["category"], example["enhet"], example["flags"], example["from"]) == (
        "klagomal", "gata_park", ["felanmalan"], "")


def test_a_chef_records_feedback_and_the_case_leaves_nothing_open(site: Site) -> None:
    chef = site.login(CHEF_NORR)
    case = site.cases["norr"]
    token = csrf_of(chef.get(f"/cases/{case}").text)
    done = chef.post(f"/cases/{case}/note", data={"note": "Ringde dottern.", "kind": "feedback",
                                                  "csrf": token})
    assert "Återkoppling registrerad" in done.text and "Ringde dottern." in done.text
    with site.app.sessions() as session:
        assert session.get_one(Case, case).status == "feedback_given"


def test_wrong_password_and_unknown_user_get_the_same_answer_then_lockout(site: Site) -> None:
    client = TestClient(site.client.app)

    def attempt(email: str, password: str) -> tuple[int, str]:
        token = csrf_of(client.get("/login").text)
        answer = client.post("/login", data={"email": email, "password": password,
                                             "csrf": token}, follow_redirects=False)
        return answer.status_code, answer.text

    unknown = attempt("ingen@ekby.example", "fel lösenord igen")
    wrong = attempt(REGISTRATOR, "fel lösenord igen")
    assert unknown[0] == wrong[0] == 401
    assert "Fel e-postadress eller lösenord." in unknown[1] and "Fel e-postadress" in wrong[1]
    for _ in range(4):
        attempt(REGISTRATOR, "fel lösenord igen")
    status, text = attempt(REGISTRATOR, PASSWORD)  # locked, even with the right password
    assert status == 429 and "För många misslyckade försök" in text


def test_login_gives_a_new_session_and_logout_ends_it(site: Site) -> None:
    client = TestClient(site.client.app)
    planted = "planterad-av-en-angripare"
    client.cookies.set("synpunkt_session", planted, domain="testserver.local", path="/")
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"email": REGISTRATOR, "password": PASSWORD,
                                         "csrf": token}, follow_redirects=False)
    found = re.search(r"synpunkt_session=([^;]+)", answer.headers["set-cookie"])
    assert found is not None and found.group(1) != planted
    session_token = found.group(1)
    page = client.get("/inkorg")
    assert page.status_code == 200
    client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    reuse = TestClient(site.client.app)
    reuse.cookies.set("synpunkt_session", session_token)
    assert reuse.get("/inkorg", follow_redirects=False).status_code == 303
    stranger = TestClient(site.client.app)
    stranger.cookies.set("synpunkt_session", planted)
    assert stranger.get("/inkorg", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers_and_cookies_are_httponly(site: Site) -> None:
    client = TestClient(site.client.app)
    form = client.get("/login")
    assert "default-src 'none'" in form.headers["content-security-policy"]
    assert form.headers["x-frame-options"] == "DENY"
    token = csrf_of(form.text)
    answer = client.post("/login", data={"email": REGISTRATOR, "password": PASSWORD,
                                         "csrf": token}, follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_no_open_redirect(site: Site) -> None:
    from review.web import see_other

    for target in ("//evil.example/", "https://evil.example/", "\\\\evil", "javascript:x"):
        assert see_other(target).headers["location"] == "/"


def test_prometheus_metrics(site: Site) -> None:
    text = site.client.get("/metrics").text
    assert 'synpunkt_cases{status="open"} 3' in text
    assert "synpunkt_cases_needing_review 1" in text
    assert 'synpunkt_inbound_messages{channel="email",status="processed"} 3' in text
    assert "# TYPE synpunkt_deadlines_overdue gauge" in text
    guarded = replace(site.app, settings=site.app.settings.model_copy(
        update={"metrics_token": "hemligt"}))
    client = TestClient(create_app(guarded, lambda _i: None))
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer hemligt"}).status_code == 200


def test_statistics_page_and_exports(site: Site) -> None:
    registrator = site.login(REGISTRATOR)
    page = registrator.get("/statistik")
    assert page.status_code == 200 and page.text.count("<svg") >= 6
    assert "<strong>3</strong> ärenden" in page.text
    csv_text = registrator.get("/statistik.csv").content.decode("utf-8-sig")
    assert "Per kategori;klagomål;2" in csv_text and "Per kanal;e-post;3" in csv_text
    xlsx = registrator.get("/statistik.xlsx")
    assert xlsx.content[:2] == b"PK" and "attachment" in xlsx.headers["content-disposition"]
    pdf = registrator.get("/statistik.pdf")
    assert pdf.content[:5] == b"%PDF-"
    assert registrator.get("/statistik.exe").status_code == 404
    chef = site.login(CHEF_NORR).get("/statistik")  # a chef: the own enhet only
    assert "<strong>1</strong> ärenden" in chef.text and "Hemtjänst Norr" in chef.text
    assert site.client.get("/statistik.csv", follow_redirects=False).status_code == 303


def test_admin_checks_tries_and_saves_the_rules_with_history(site: Site) -> None:
    admin = site.login(ADMIN)
    page = admin.get("/admin")
    token = csrf_of(page.text)
    rules_file = site.app.kommun.directory / "routing.yaml"
    live = rules_file.read_text("utf-8")
    assert "hemtjanst-norr" in page.text
    broken = admin.post("/admin/fil/routing.yaml", data={"text": live + "\n  - id: [trasig\n",
                                                      "action": "spara", "csrf": token})
    assert re.search(r"routing\.yaml:\d+: ", broken.text)
    assert rules_file.read_text("utf-8") == live  # nothing saved
    draft = live.replace("enhet: gata_park", "enhet: park_och_natur_som_inte_finns")
    unknown = admin.post("/admin/fil/routing.yaml", data={"text": draft, "action": "prova",
                                                       "csrf": token})
    assert "park_och_natur_som_inte_finns" in unknown.text and "class=\"error\"" in unknown.text
    draft = live.replace("enhet: gata_park", "registrator: true", 1)
    tried = admin.post("/admin/fil/routing.yaml", data={"text": draft, "action": "prova",
                                                     "csrf": token})
    assert "Inga fel" in tried.text and "byter mottagare" in tried.text
    with site.app.sessions() as session:
        gata = session.get_one(Case, site.cases["gata"])
    assert gata.diarienummer in tried.text  # this case would move to the registrator
    saved = admin.post("/admin/fil/routing.yaml", data={"text": draft, "action": "spara",
                                                     "note": "prov", "csrf": token})
    assert "Sparat som version" in saved.text and "admin@ekby.example" in saved.text
    assert rules_file.read_text("utf-8") == draft
    with site.app.sessions() as session:
        assert session.scalar(select(Event).where(Event.kind == "config.saved")) is not None
    registrator = site.login(REGISTRATOR)
    token = csrf_of(registrator.get("/inkorg").text)
    assert registrator.post("/admin/fil/routing.yaml", data={"text": live, "csrf": token}
                            ).status_code == 403


def test_admin_manages_users_and_a_switched_off_user_is_logged_out(site: Site) -> None:
    chef = site.login(CHEF_GATA)
    assert chef.get("/enhet").status_code == 200
    admin = site.login(ADMIN)
    token = csrf_of(admin.get("/admin/anvandare").text)
    bad = admin.post("/admin/anvandare", data={"email": "ny@ekby.example", "role": "chef",
                                               "password": PASSWORD, "csrf": token})
    assert "en chef behöver en enhet" in bad.text
    short = admin.post("/admin/anvandare", data={"email": "ny@ekby.example", "role": "chef",
                                                 "enhet": "gata_park", "password": "kort",
                                                 "csrf": token})
    assert "minst 12 tecken" in short.text
    added = admin.post("/admin/anvandare", data={"email": "Ny@Ekby.example", "role": "chef",
                                                 "enhet": "gata_park", "password": PASSWORD,
                                                 "csrf": token})
    assert "Lade till ny@ekby.example" in added.text
    assert site.login("ny@ekby.example").get("/enhet").status_code == 200
    with site.app.sessions() as session:
        gata_id = session.scalar(select(User.id).where(User.email == CHEF_GATA))
    admin.post(f"/admin/anvandare/{gata_id}/stang", data={"csrf": token})
    assert chef.get("/enhet", follow_redirects=False).status_code == 303  # logged out
    assert site.login(ADMIN).get("/admin/anvandare").status_code == 200
    assert site.login(REGISTRATOR).get("/admin/anvandare").status_code == 403


def test_quarantined_mail_can_be_processed_again(site: Site) -> None:
    with site.app.sessions.begin() as session:
        row = store_raw(session, "test", "q", b"From: x@example.se\n\n",
                        received_at=datetime.now(UTC))
        inbound = session.get_one(Inbound, row.inbound_id)
        inbound.status, inbound.reason = "quarantined", "empty: filen är tom"
    queued: list[int] = []
    client = TestClient(create_app(site.app, queued.append))
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"email": REGISTRATOR, "password": PASSWORD, "csrf": token})
    inbox = client.get("/inkorg").text
    assert "filen är tom" in inbox
    done = client.post(f"/inbound/{row.inbound_id}/reprocess", data={"csrf": csrf_of(inbox)})
    assert "behandlas igen" in done.text and queued == [row.inbound_id]
    with site.app.sessions() as session:
        assert session.get_one(Inbound, row.inbound_id).status == "received"


def test_the_registrator_decides_on_an_uncertain_receipt(site: Site) -> None:
    """One click to send it again, or one to say it arrived; a chef may do neither."""
    with site.app.sessions.begin() as session:
        receipt = session.scalars(select(Outbox).where(Outbox.case_id == site.cases["gata"],
                                                       Outbox.kind == "mottagningsbevis")).one()
        receipt.status, receipt.last_error = "uncertain", "avbrutet efter sista steget"
        twin = Outbox(dedupe_key="twin", kind="mottagningsbevis", recipient="b@example.se",
                      subject="s", body=b"x", status="uncertain", created_at=site.app.clock(),
                      next_attempt_at=site.app.clock(), case_id=site.cases["norr"])
        session.add(twin)
        session.flush()
        first, second = receipt.id, twin.id
    chef = site.login(CHEF_GATA)
    token = csrf_of(chef.get("/enhet").text)
    for action in ("skicka-igen", "kom-fram"):
        assert chef.post(f"/utskick/{first}/{action}", data={"csrf": token}).status_code == 403
    registrator = site.login(REGISTRATOR)
    inbox = registrator.get("/inkorg").text
    assert "Utskick som behöver ett beslut (2)" in inbox and "osäkert" in inbox
    token = csrf_of(inbox)
    done = registrator.post(f"/utskick/{first}/skicka-igen", data={"csrf": token})
    assert "skickas igen" in done.text
    done = registrator.post(f"/utskick/{second}/kom-fram", data={"csrf": token})
    assert "Markerat som skickat" in done.text
    assert "Utskick som behöver ett beslut (0)" in done.text
    with site.app.sessions() as session:
        assert session.get_one(Outbox, first).status == "pending"
        assert session.get_one(Outbox, second).status == "sent"
        kinds = session.scalars(select(Event.kind).where(Event.outbox_id.in_([first, second])))
        assert {"mottagningsbevis.resend", "mottagningsbevis.confirmed_sent"} <= set(kinds)
