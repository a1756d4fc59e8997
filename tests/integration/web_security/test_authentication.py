"""Authentication: every route is public by decision or needs a session; no
route answers a session that is not valid, a path variant, or a planted
session; the webhooks and /metrics have their own guards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from cases.models import User, WebSession
from review.app import create_app
from tests.integration.test_web import CHEF_GATA, CHEF_NORR, PASSWORD, REGISTRATOR, Site, csrf_of
from tests.integration.web_security.routes import (
    PROTECTED,
    PUBLIC,
    concrete,
    endpoints,
    form_for,
    state,
)
from tests.support import serve_web


def refused_without_login(answer: httpx.Response) -> bool:
    if answer.status_code in (401, 403, 404, 405):
        return True
    return answer.status_code in (302, 303, 307) and answer.headers["location"] == "/login"



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
