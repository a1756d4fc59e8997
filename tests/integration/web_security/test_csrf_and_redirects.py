"""Forged requests: every state-changing route needs this session's CSRF
token, redirects stay on our own paths, and nothing injects a header."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from review.web import see_other
from tests.integration.test_web import ADMIN, PASSWORD, REGISTRATOR, Site, csrf_of
from tests.integration.web_security.routes import PROTECTED, PUBLIC, concrete, form_for, state

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
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
