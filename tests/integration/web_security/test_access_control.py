"""Access across enheter (IDOR) and roles: no one reaches a case outside
their own, and each role keeps to its pages."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.inbound import store_raw
from cases.models import Case, User
from classify.triage import Category, Triage
from service.pipeline import process_inbound
from tests.integration.test_web import (
    ADMIN,
    CHEF_GATA,
    CHEF_NORR,
    PASSWORD,
    REGISTRATOR,
    Site,
    csrf_of,
)
from tests.integration.web_security.routes import state
from tests.support import FixedClassifier

# Case-scoped routes and what a request to each looks like: the IDOR table.
CASE_ROUTES = [
    ("GET", "/cases/{id}", {}),
    ("GET", "/cases/{id}/bilagor/0", {}),
    ("POST", "/cases/{id}/note", {"note": "x", "kind": "note"}),
    ("POST", "/cases/{id}/note", {"note": "x", "kind": "feedback"}),
    ("POST", "/cases/{id}/note", {"note": "x", "kind": "close"}),
    ("POST", "/cases/{id}/correct", {"category": "berom", "enhet": "gata_park"}),
    ("POST", "/cases/{id}/fel-enhet", {"note": "x"}),
]

def with_attachment(site: Site, key: str, enhet_text: str) -> int:
    """A case whose mail carries an attachment (for the download routes)."""
    mail = EmailMessage()
    mail["From"], mail["To"] = f"bo.{key}@example.se", "synpunkter@ekby.example"
    mail["Subject"], mail["Message-ID"] = "Bilaga", f"<{key}@example.se>"
    mail.set_content(enhet_text)
    mail.add_attachment(b"%PDF-1.4 hemligt", maintype="application", subtype="pdf",
                        filename="intyg.pdf")
    sure = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)
    with site.app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, mail.as_bytes(),
                            received_at=site.app.clock()).inbound_id
    case_id = process_inbound(replace(site.app, classifier=FixedClassifier(sure)),
                              inbound).case_id
    assert case_id is not None
    return case_id


# --- access across enheter (IDOR) ------------------------------------------

def _try_case(client: TestClient, token: str, case_id: int | str) -> list[tuple[str, int]]:
    out = []
    for method, path, data in CASE_ROUTES:
        url = path.format(id=case_id)
        answer = client.request(method, url, data=(data | {"csrf": token}) if data else None,
                                follow_redirects=False)
        out.append((f"{method} {url} {data.get('kind', '')}", answer.status_code))
    return out


def test_no_one_reaches_a_case_outside_their_own(site: Site) -> None:
    own = with_attachment(site, "att-norr", "Hemtjänsten i Lövsta glömde medicinen.")
    other = with_attachment(site, "att-gata", "Gatlampan på Ekvägen är trasig, se bilaga.")
    with site.app.sessions.begin() as session:
        assert session.get_one(Case, own).enhet == "hemtjanst_norr"
        gata = session.get_one(Case, other)
        gata.enhet = "gata_park"
        secret = session.get_one(Case, site.cases["gata"])
        secret.restricted = True  # a sekretess case of gata_park
    chef = site.login(CHEF_NORR)
    token = csrf_of(chef.get("/enhet").text)
    # The control: the chef's own case, attachment included, answers.
    assert chef.get(f"/cases/{own}/bilagor/0").content == b"%PDF-1.4 hemligt"
    before = state(site)
    for case_id in (other, site.cases["gata"]):
        for what, status in _try_case(chef, token, case_id):
            assert status == 403, (what, status)
    gata_chef = site.login(CHEF_GATA)
    gata_token = csrf_of(gata_chef.get("/enhet").text)
    for what, status in _try_case(gata_chef, gata_token, own):
        assert status == 403, (what, status)
    admin = site.login(ADMIN)
    admin_token = csrf_of(admin.get("/admin").text)
    for what, status in _try_case(admin, admin_token, site.cases["gata"]):  # sekretess
        assert status == 403, (what, status)
    for what, status in _try_case(admin, admin_token, own)[1:]:  # may read, not act
        assert status == 403, (what, status)
    assert state(site) == before
    registrator = site.login(REGISTRATOR)
    reg_token = csrf_of(registrator.get("/inkorg").text)
    for case_id in (999_999, 0, -1, 2**31, 2**63):
        for what, status in _try_case(registrator, reg_token, case_id):
            assert status in (404, 422), (what, status)
    for bad in ("abc", "1.5", "0x1", "1e3", "99999999999999999999999", "%00", "1;2", "null"):
        for what, status in _try_case(registrator, reg_token, bad):
            assert status in (404, 405, 422), (what, status)
    for index in ("-1", "1", "99999999999", "x"):
        status = registrator.get(f"/cases/{own}/bilagor/{index}").status_code
        assert status in (404, 422), (index, status)
    with site.app.sessions.begin() as session:  # as it was, for the next test
        session.get_one(Case, site.cases["gata"]).restricted = False


def test_roles_keep_to_their_pages(site: Site) -> None:
    registrator = site.login(REGISTRATOR)
    token = csrf_of(registrator.get("/inkorg").text)
    with site.app.sessions() as session:
        gata_id = session.scalar(select(User.id).where(User.email == CHEF_GATA))
    before = state(site)
    for path in ("/admin", "/admin/anvandare"):
        assert registrator.get(path).status_code == 403, path
    for path, data in (("/admin/fil/routing.yaml", {"text": "x", "action": "spara"}),
                       ("/admin/fil/routines.yaml", {"text": "x", "action": "spara"}),
                       ("/admin/anvandare", {"email": "x@ekby.example", "role": "admin",
                                             "password": PASSWORD}),
                       (f"/admin/anvandare/{gata_id}/stang", {})):
        assert registrator.post(path, data=data | {"csrf": token}).status_code == 403, path
    chef = site.login(CHEF_NORR)
    chef_token = csrf_of(chef.get("/enhet").text)
    for path in ("/inkorg", "/arenden", "/admin", "/admin/anvandare"):
        assert chef.get(path).status_code == 403, path
    with site.app.sessions() as session:
        inbound_id = session.get_one(Case, site.cases["gata"]).inbound_id
    assert chef.post(f"/inbound/{inbound_id}/reprocess",
                     data={"csrf": chef_token}).status_code == 403
    assert state(site) == before
    admin = site.login(ADMIN)
    admin_token = csrf_of(admin.get("/admin").text)
    for name in ("../settings.py", "..%2Forganisation.yaml", "organisation.yaml", "x"):
        answer = admin.post(f"/admin/fil/{name}", data={"text": "x", "action": "spara",
                                                        "csrf": admin_token})
        assert answer.status_code == 404, name
    with site.app.sessions() as session:
        admin_id = session.scalar(select(User.id).where(User.email == ADMIN))
    assert admin.post(f"/admin/anvandare/{admin_id}/stang",
                      data={"csrf": admin_token}).status_code == 403  # not oneself
