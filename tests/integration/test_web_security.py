"""The web application under attack, systematically: every route the real
app serves is enumerated, so a route added later is tested too (or fails the
inventory). Authentication bypass, CSRF, access across enheter (IDOR),
session fixation, open redirects and header injection, and secrets that
never leave the environment. tests/integration/test_web.py has the
single-case versions; this file covers every route and every variant."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from cases.inbound import store_raw
from cases.models import Case, Event, Outbox, User, WebSession
from classify.triage import Category, Triage
from config.settings import SHIPPED_CONFIG, Settings
from review.app import create_app
from review.web import see_other
from service.pipeline import process_inbound
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
from tests.support import FixedClassifier, serve_web

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """test_web's site (users of each role, three cases), built once for this
    module: each test leaves it as it found it."""
    built: Site = test_web.site.__wrapped__(  # type: ignore[attr-defined]
        tmp_path_factory.mktemp("site"))
    built.client = TestClient(built.client.app)
    return built

# Every route without a session: these, and no other. /login and /logout
# are the way in and out; /health is for the load balancer; /metrics answers
# loopback or its Bearer token; the SMS webhooks have the provider's own auth.
PUBLIC = {
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/health"),
    ("GET", "/metrics"), ("POST", "/sms/{provider}"), ("POST", "/sms/{provider}/status"),
    ("MOUNT", "/static"),
}
# Every route that needs a logged-in person.
PROTECTED = {
    ("GET", "/"), ("GET", "/inkorg"), ("GET", "/arenden"), ("GET", "/enhet"),
    ("GET", "/cases/{case_id}"), ("GET", "/cases/{case_id}/bilagor/{index}"),
    ("POST", "/cases/{case_id}/correct"), ("POST", "/cases/{case_id}/note"),
    ("POST", "/inbound/{inbound_id}/reprocess"), ("GET", "/statistik"),
    ("POST", "/utskick/{outbox_id}/skicka-igen"), ("POST", "/utskick/{outbox_id}/kom-fram"),
    ("GET", "/statistik.{kind}"), ("GET", "/admin"), ("POST", "/admin/fil/{name}"),
    ("GET", "/admin/anvandare"), ("POST", "/admin/anvandare"),
    ("POST", "/admin/anvandare/{user_id}/{what}"),
}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Case-scoped routes and what a request to each looks like: the IDOR table.
CASE_ROUTES = [
    ("GET", "/cases/{id}", {}),
    ("GET", "/cases/{id}/bilagor/0", {}),
    ("POST", "/cases/{id}/note", {"note": "x", "kind": "note"}),
    ("POST", "/cases/{id}/note", {"note": "x", "kind": "feedback"}),
    ("POST", "/cases/{id}/note", {"note": "x", "kind": "close"}),
    ("POST", "/cases/{id}/correct", {"category": "berom", "enhet": "gata_park"}),
]
EVIL_TARGETS = [
    "//evil.example", "//evil.example/", "https://evil.example", "http:evil.example",
    "/\\evil.example", "\\\\evil.example", "%2F%2Fevil.example", "/%2F%2Fevil.example",
    "/%5Cevil.example", "javascript:alert(1)", " //evil.example", "\t//evil.example",
    "/x\r\nSet-Cookie: pwned=1", "/x\nLocation: https://evil.example",
    "/x%0d%0aSet-Cookie:%20pwned=1", "https:/\\evil.example", "///evil.example",
    "/\t/evil.example", "/ /evil.example",
]
REDIRECT_PARAMS = ("next", "return", "return_to", "returnTo", "redirect", "redirect_uri",
                   "url", "continue", "to", "dest", "back", "goto", "klart")


def endpoints(app: object) -> set[tuple[str, str]]:
    """(method, path) for every route of the app, through included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[object]) -> None:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:  # FastAPI >= 0.16x: an included router
                for ctx in contexts():
                    found.update((m, ctx.path) for m in ctx.original_route.methods)
            elif hasattr(route, "methods") and route.methods:
                found.update((m, route.path)  # type: ignore[attr-defined]
                             for m in route.methods if m != "HEAD")
            elif hasattr(route, "routes") and getattr(route, "path", "") == "":
                walk(route.routes)
            else:
                found.add(("MOUNT", route.path))  # type: ignore[attr-defined]

    walk(app.router.routes)  # type: ignore[attr-defined]
    return found


def concrete(path: str, site: Site, case: str = "norr") -> str:
    """A route's path with real ids filled in."""
    with site.app.sessions() as session:
        user_id = session.scalar(select(User.id).where(User.email == CHEF_GATA))
        inbound_id = session.get_one(Case, site.cases[case]).inbound_id
        outbox_id = session.scalar(select(Outbox.id).where(Outbox.case_id == site.cases[case]))
    values = {"case_id": site.cases[case], "index": 0, "inbound_id": inbound_id, "kind": "csv",
              "name": "routing.yaml", "user_id": user_id, "what": "stang", "provider": "46elks",
              "outbox_id": outbox_id}
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def state(site: Site) -> tuple[object, ...]:
    """What a refused request must not change: the audit trail (logins aside),
    the cases, the users, the rules."""
    with site.app.sessions() as session:
        events = session.scalar(select(func.count()).select_from(Event).where(
            Event.kind != "user.logged_in"))
        cases = tuple(session.execute(select(Case.id, Case.status, Case.enhet, Case.category,
                                             Case.restricted).order_by(Case.id)).all())
        users = tuple(session.execute(select(User.email, User.role, User.active)
                                      .order_by(User.id)).all())
    return events, cases, users, (site.app.kommun.directory / "routing.yaml").read_text()


def form_for(path: str) -> dict[str, str]:
    """A well-formed body for each POST route, so only the check under test can refuse it."""
    if path.endswith("/correct"):
        return {"category": "berom", "enhet": "gata_park"}
    if path.endswith("/note"):
        return {"note": "en anteckning", "kind": "close"}
    if path == "/admin/fil/routing.yaml":
        return {"text": "rules: []\n", "action": "spara"}
    if path == "/admin/anvandare":
        return {"email": "ny@ekby.example", "role": "admin", "password": PASSWORD * 2}
    return {}


def refused_without_login(answer: httpx.Response) -> bool:
    if answer.status_code in (401, 403, 404, 405):
        return True
    return answer.status_code in (302, 303, 307) and answer.headers["location"] == "/login"


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


# --- the inventory ---------------------------------------------------------

def test_every_route_is_either_public_by_decision_or_needs_a_session(site: Site) -> None:
    served = endpoints(site.client.app)
    unknown = served - PUBLIC - PROTECTED
    assert not unknown, f"a new route: add it to PUBLIC or PROTECTED and to these tests: {unknown}"
    assert not (PUBLIC | PROTECTED) - served, (PUBLIC | PROTECTED) - served


# --- authentication bypass -------------------------------------------------

def _sessions_that_are_not(site: Site) -> Iterator[tuple[str, str | None]]:
    """Cookies that must open nothing: none, forged, expired, logged out, switched-off user."""
    yield "none", None
    yield "forged", "A" * 43
    yield "too long", "A" * 5000
    yield "not base64", "../../etc/passwd;%00"
    expired = site.login(REGISTRATOR)
    token = expired.cookies["synpunkt_session"]
    with site.app.sessions.begin() as session:
        for row in session.scalars(select(WebSession)):
            row.last_seen_at = row.last_seen_at - timedelta(hours=9)
    yield "expired (9 idle hours)", token
    out = site.login(REGISTRATOR)
    token = out.cookies["synpunkt_session"]
    out.post("/logout", data={"csrf": csrf_of(out.get("/inkorg").text)})
    yield "logged out", token
    off = site.login(CHEF_NORR)
    token = off.cookies["synpunkt_session"]
    with site.app.sessions.begin() as session:
        user = session.scalar(select(User).where(User.email == CHEF_NORR))
        assert user is not None
        user.active = False
    yield "switched-off user", token


def test_no_protected_route_answers_without_a_valid_session(site: Site) -> None:
    for label, cookie in _sessions_that_are_not(site):
        before = state(site)
        for method, path in sorted(PROTECTED):
            client = TestClient(site.client.app)
            if cookie is not None:
                client.cookies.set("synpunkt_session", cookie)
            url = concrete(path, site)
            for verb in (method, "HEAD", "OPTIONS") if cookie is None else (method,):
                answer = client.request(verb, url, data=form_for(url) if verb == "POST" else None,
                                        follow_redirects=False)
                assert refused_without_login(answer), (label, verb, url, answer.status_code)
                assert "Hemtjänsten i Lövsta" not in answer.text, (label, verb, url)
        assert state(site) == before, label
    with site.app.sessions.begin() as session:  # as it was, for the next test
        session.execute(update(User).values(active=True))


def test_path_variants_do_not_slip_past_the_login(site: Site) -> None:
    client = TestClient(site.client.app)
    case = site.cases["norr"]
    variants = ["/inkorg/", "/INKORG", "/Inkorg", "//inkorg", "/./inkorg", "/inkorg/.",
                "/static/../inkorg", "/%69nkorg", "/inkorg%2F", "/inkorg;x", "/inkorg?x=/login",
                f"/cases/{case}/", f"/CASES/{case}", f"/cases/{case:+d}", f"/cases/0{case}",
                f"/cases/{case}%2Fbilagor%2F0", "/admin/", "/ADMIN", "/admin/anvandare/",
                "/statistik.csv/", "/static/../admin", "/static/%2e%2e/admin",
                "/static/..%2fadmin", "/login/../inkorg"]
    for path in variants:
        answer = client.get(path, follow_redirects=False)
        if answer.status_code in (301, 302, 303, 307, 308):
            target = answer.headers["location"]
            assert target.startswith("/") or target.startswith("http://testserver/"), path
            answer = client.get(target, follow_redirects=True)
            assert answer.url.path in ("/login", target.removeprefix("http://testserver")), path
            assert answer.url.path == "/login" or answer.status_code >= 400, path
        else:
            assert answer.status_code in (400, 401, 403, 404, 405, 422), (path, answer.status_code)
        assert "Hemtjänsten i Lövsta" not in answer.text and "<h1>Inkorg" not in answer.text, path


def test_the_webhooks_and_metrics_of_the_allow_list_have_their_own_guard(
        site: Site, tmp_path: Path) -> None:
    settings = site.app.settings.model_copy(update={
        "sms_provider": "46elks", "sms_username": "u1", "sms_password": "api-lösen",
        "sms_api_url": "http://127.0.0.1:9/a1", "sms_webhook_secret": "krok"})
    from ingest.sms.providers import make_gateway

    gated = replace(site.app, settings=settings, gateway=make_gateway(settings, "+46700000000"))
    client = TestClient(create_app(gated, lambda _i: None))
    hook = {"id": "s1", "from": "+46701234567", "to": "+46700000000", "message": "hej",
            "created": "2026-11-24 10:00:00"}
    for path in ("/sms/46elks", "/sms/46elks/status", "/sms/twilio", "/sms/twilio/status"):
        for auth in (None, ("u1", "fel"), ("fel", "krok")):
            answer = client.post(path, data=hook, auth=auth)
            assert answer.status_code in (401, 404), (path, auth, answer.status_code)
    assert client.post("/sms/46elks", data=hook, auth=("u1", "krok")).status_code == 204
    # /metrics over real HTTP: loopback 127.0.0.1 only; a proxy's X-Forwarded-For counts.
    with serve_web(site.app) as url:
        def get(local: str, headers: dict[str, str] | None = None) -> int:
            with httpx.Client(transport=httpx.HTTPTransport(local_address=local)) as http:
                return http.get(f"{url}/metrics", headers=headers).status_code

        assert get("127.0.0.1") == 200 and get("127.0.0.2") == 200  # the loopback range
        assert get("127.0.0.1", {"X-Forwarded-For": "203.0.113.7"}) == 403  # via our proxy
        assert get("127.0.0.1", {"X-Forwarded-For": "testclient"}) == 403  # not an address
        assert get("127.0.0.1", {"X-Forwarded-For": "localhost"}) == 403


# --- CSRF ------------------------------------------------------------------

def test_every_state_changing_route_needs_this_sessions_csrf_token(site: Site) -> None:
    posts = sorted((m, p) for m, p in PROTECTED | PUBLIC if m in STATE_CHANGING
                   and not p.startswith("/sms/") and p != "/login")
    assert len(posts) >= 7, posts
    other = site.login(REGISTRATOR)  # another session of the same person: its token
    foreign = csrf_of(other.get("/inkorg").text)
    clients = {who: site.login(who) for who in (ADMIN, REGISTRATOR)}
    for who, client in clients.items():
        assert csrf_of(client.get("/admin" if who == ADMIN else "/inkorg").text) != foreign
    for method, path in posts:
        who = ADMIN if path.startswith("/admin") else REGISTRATOR
        client = clients[who]
        url = concrete(path, site, "unsure")
        for label, token in (("none", None), ("empty", ""), ("another session's", foreign),
                             ("wrong", "x" * 43)):
            before = state(site)
            data = form_for(url) | ({"csrf": token} if token is not None else {})
            answer = client.request(method, url, data=data, follow_redirects=False,
                                    headers={"Origin": "https://evil.example"})
            assert answer.status_code == 403, (label, url, answer.status_code)
            assert state(site) == before, (label, url)
    for client in clients.values():
        assert client.get("/", follow_redirects=False).status_code == 303  # still logged in
    # The login form's double-submit token: another browser's token does not fit.
    a, b = TestClient(site.client.app), TestClient(site.client.app)
    token_a = csrf_of(a.get("/login").text)
    b.get("/login")
    answer = b.post("/login", data={"email": REGISTRATOR, "password": PASSWORD,
                                    "csrf": token_a}, follow_redirects=False)
    assert answer.status_code == 403 and "synpunkt_session" not in b.cookies


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


# --- session fixation -------------------------------------------------------

def test_a_planted_session_is_replaced_and_closed_at_login(site: Site) -> None:
    attacker = site.login(CHEF_GATA)  # a real session of the attacker's own
    planted = attacker.cookies["synpunkt_session"]
    victim = TestClient(site.client.app)
    victim.cookies.set("synpunkt_session", planted)
    token = csrf_of(TestClient(site.client.app).get("/login").text)  # a token: its cookie next
    victim.cookies.set("synpunkt_login", token, path="/login")
    answer = victim.post("/login", data={"email": CHEF_NORR, "password": PASSWORD,
                                         "csrf": token}, follow_redirects=False)
    assert answer.status_code == 303
    fresh = re.search(r"synpunkt_session=([^;]+)", answer.headers["set-cookie"])
    assert fresh is not None and fresh.group(1) != planted
    assert attacker.get("/enhet", follow_redirects=False).status_code == 303  # closed
    watcher = TestClient(site.client.app)
    watcher.cookies.set("synpunkt_session", planted)
    assert watcher.get(f"/cases/{site.cases['norr']}", follow_redirects=False
                       ).status_code == 303
    # Logout ends the session in the database, not only in the browser.
    victim.cookies.set("synpunkt_session", fresh.group(1))
    with site.app.sessions() as session:
        count = session.scalar(select(func.count()).select_from(WebSession))
    victim.post("/logout", data={"csrf": csrf_of(victim.get("/enhet").text)})
    with site.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == (count or 0) - 1


# --- open redirects and header injection ---------------------------------------

def _own_path(location: str) -> bool:
    """A path on this host: no scheme, no host, nothing a browser reads as one."""
    parts = urlsplit(location)
    return (location.startswith("/") and not location.startswith("//")
            and not parts.scheme and not parts.netloc and "\\" not in location
            and not any(ord(c) < 32 or c == " " for c in location))


def test_redirects_stay_on_our_own_paths(site: Site) -> None:
    for target in EVIL_TARGETS:
        location = see_other(target).headers["location"]
        assert _own_path(location), (target, location)
    anonymous = TestClient(site.client.app)
    registrator = site.login(REGISTRATOR)
    gets = sorted(p for m, p in PROTECTED | PUBLIC if m == "GET")
    for client in (anonymous, registrator):
        for path in gets:
            url = concrete(path, site)
            for target in EVIL_TARGETS[::3]:  # every parameter name at once
                answer = client.get(url, params=dict.fromkeys(REDIRECT_PARAMS, target),
                                    follow_redirects=False)
                if "location" in answer.headers:
                    assert _own_path(answer.headers["location"]), (url, target)
                assert "pwned" not in answer.headers.get("set-cookie", ""), (url, target)
                assert 'href="//evil' not in answer.text, (url, target)
    # Evil targets as the path itself (Starlette's slash redirect included).
    for target in ("//evil.example/", "//evil.example/%2e%2e/", "/\\evil.example/",
                   "//evil.example//", "/%2F%2Fevil.example/"):
        answer = anonymous.get(target, follow_redirects=False)
        if "location" in answer.headers:
            location = answer.headers["location"].removeprefix("http://testserver")
            assert _own_path(location), (target, answer.headers["location"])


def test_login_redirect_and_user_emails_cannot_inject_headers(site: Site) -> None:
    client = TestClient(site.client.app)
    token = csrf_of(client.get("/login?next=https://evil.example").text)
    answer = client.post("/login?next=//evil.example", data={
        "email": REGISTRATOR, "password": PASSWORD, "csrf": token,
        "next": "https://evil.example"}, follow_redirects=False)
    assert answer.headers["location"] == "/inkorg"
    admin = site.login(ADMIN)
    token = csrf_of(admin.get("/admin/anvandare").text)
    for email in ("x@ekby.example\r\nSet-Cookie: pwned=1", "x@ekby.example\nLocation: //evil"):
        answer = admin.post("/admin/anvandare", data={
            "email": email, "role": "admin", "password": PASSWORD, "csrf": token},
            follow_redirects=False)
        assert "pwned" not in answer.headers.get("set-cookie", "")
        if "location" in answer.headers:
            assert _own_path(answer.headers["location"]), answer.headers["location"]


# --- secrets only from the environment ----------------------------------------

SECRET_LINE = re.compile(
    r"""(?ix)
    -----BEGIN[ A-Z]*PRIVATE\ KEY-----
    | \b(?:AKIA|ASIA)[0-9A-Z]{16}\b                       # AWS access key id
    | \bgh[pousr]_[A-Za-z0-9]{30,}\b                      # GitHub token
    | \bxox[abpr]-[A-Za-z0-9-]{10,}                      # Slack token
    | \bsk_live_[A-Za-z0-9]{16,}                          # Stripe key
    | \bAC[0-9a-f]{32}\b                                   # Twilio account SID
    | [a-z][a-z0-9+.-]*://[^\s:/@'"]+:[^\s@/'"{]{3,}@(?!127\.0\.0\.1|localhost|host\b|example)
    | (?:password|passwd|secret|token|api_?key|lösenord)[\w-]*["']?\s*[:=]\s*["'][^"'\s{}]{8,}["']
    """)


# What documentation writes in place of a secret: USERNAME:SECRET, user:pw, lösenord.
PLACEHOLDER = re.compile(r"(?i):(?:[A-Z_]+|pw|pass|password|lösenord|secret|hemligt)@")


def _tracked() -> list[Path]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [ROOT / f for f in files if not f.startswith(("tests/", "classify/data/",
                                                         "classify/model/"))]


def test_the_repository_holds_no_credentials() -> None:
    hits = []
    for path in _tracked():
        try:
            text = path.read_text("utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(not PLACEHOLDER.search(m.group(0)) for m in SECRET_LINE.finditer(line)):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not hits, "credential-looking values in tracked files:\n" + "\n".join(hits)
    planted = SECRET_LINE.search("SYNPUNKT_SMTP_URL=smtp://kommun:Sommar2026!@smtp.ekby.se")
    assert planted and not PLACEHOLDER.search(planted.group(0))
    assert SECRET_LINE.search('sms_password = "k8Jd0aPq2xYz"')


def test_the_configuration_files_have_no_place_for_a_secret() -> None:
    def keys(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield str(key)
                yield from keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from keys(item)

    secretish = re.compile(r"(?i)pass|secret|token|key$|api_?key|lösen|losen|credential|auth")
    found = []
    for path in sorted(SHIPPED_CONFIG.glob("*.yaml")):
        found += [f"{path.name}: {k}" for k in keys(yaml.safe_load(path.read_text("utf-8")))
                  if secretish.search(k)]
    from config import organisation, routines

    for module in (organisation, routines):
        for model in vars(module).values():
            fields = getattr(model, "model_fields", None)
            if isinstance(fields, dict) and isinstance(model, type):
                found += [f"{model.__name__}.{f}" for f in fields if secretish.search(f)]
    assert not found, found


SECRETS = {"SYNPUNKT_SMS_PASSWORD": "smsLosen-9f3k", "SYNPUNKT_SMS_WEBHOOK_SECRET": "krok-7Hq2",
           "SYNPUNKT_METRICS_TOKEN": "metrik-Zt81",
           "SYNPUNKT_SMTP_URL": "smtp://utkorg:smtpLosen-4kW@127.0.0.1:9/",
           "SYNPUNKT_IMAP_URL": "imaps://inkorg:imapLosen-2Pz@127.0.0.1:9/INBOX"}
SECRET_VALUES = ("smsLosen-9f3k", "krok-7Hq2", "metrik-Zt81", "smtpLosen-4kW", "imapLosen-2Pz")


def test_settings_take_credentials_from_the_environment_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Settings.model_config
    assert config.get("env_prefix") == "SYNPUNKT_"
    assert not config.get("env_file") and not config.get("secrets_dir")
    for name in ("sms_password", "sms_webhook_secret", "metrics_token", "smtp_url", "imap_url",
                 "sms_username", "database_url", "imap_oauth2_token_command"):
        assert name in Settings.model_fields, name
    monkeypatch.chdir(tmp_path)  # a stray .env file or YAML with secrets is not read
    (tmp_path / ".env").write_text("SYNPUNKT_SMS_PASSWORD=fran-en-fil\nSMS_PASSWORD=x\n")
    config_dir = tmp_path / "ekby"
    import shutil

    shutil.copytree(SHIPPED_CONFIG, config_dir)
    with (config_dir / "organisation.yaml").open("a") as f:
        f.write("\nsms_password: fran-yaml\nmetrics_token: fran-yaml\n")
    for name in [*SECRETS, "SMS_PASSWORD", "METRICS_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMS_PASSWORD", "utan-prefix")
    monkeypatch.setenv("SYNPUNKT_CONFIG", str(config_dir))
    plain = Settings()
    assert plain.sms_password is None and plain.metrics_token is None
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    taken = Settings()
    assert (taken.sms_password, taken.sms_webhook_secret, taken.metrics_token) == (
        SECRETS["SYNPUNKT_SMS_PASSWORD"], SECRETS["SYNPUNKT_SMS_WEBHOOK_SECRET"],
        SECRETS["SYNPUNKT_METRICS_TOKEN"])
    assert taken.smtp_url == SECRETS["SYNPUNKT_SMTP_URL"]


def test_no_secret_is_shown_in_pages(site: Site) -> None:
    """An app holding every secret shows none of them. (What the commands
    print, at -v, is checked by tests/integration/test_logs.py.)"""
    settings = site.app.settings.model_copy(update={
        "sms_password": "smsLosen-9f3k", "sms_webhook_secret": "krok-7Hq2",
        "metrics_token": "metrik-Zt81", "smtp_url": SECRETS["SYNPUNKT_SMTP_URL"],
        "imap_url": SECRETS["SYNPUNKT_IMAP_URL"]})
    client = TestClient(create_app(replace(site.app, settings=settings), lambda _i: None))
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf": token})
    pages = [client.get(p) for p in ("/admin", "/admin/anvandare", "/statistik", "/health",
                                     "/login", f"/cases/{site.cases['gata']}")]
    pages.append(client.get("/metrics", headers={"Authorization": "Bearer metrik-Zt81"}))
    assert pages[0].status_code == 200 and pages[-1].status_code == 200
    for page in pages:
        for value in SECRET_VALUES:
            assert value not in page.text, (page.url, value)
