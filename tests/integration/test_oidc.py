"""Sign-in with the kommun's account (OpenID Connect) against a real OpenID
Provider started on loopback: panva's oidc-provider (node, OpenID Certified;
tests/harness/oidc_provider.py), with discovery, JWKS, RS256-signed ID tokens,
PKCE required and its own login form, which the tests fill in as a person
would. Synpunkt runs in FastAPI's TestClient; it reaches the provider over
real HTTP for discovery, keys and the code's exchange."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Event, User, WebSession
from classify.triage import Category, Triage
from config.errors import ConfigError
from config.settings import SHIPPED_CONFIG, Settings
from review.app import create_app
from review.oidc import OidcClient, SignInError
from service.app import App, build_app
from service.pipeline import process_inbound
from tests.harness.oidc_provider import OidcProvider, signing_key
from tests.integration.web_security.routes import endpoints
from tests.support import FixedClassifier

SECRET = "en-hemlighet-bara-for-testerna-0123456789"
CALLBACK = "http://testserver/login/oidc/callback"
ENTRA_CHEF_GROUP = "6f1a0c3e-52d4-4a8e-9b0a-2c7d3e4f5a61"  # an Entra ID group's object id
GROUPS = {"Synpunkt-Registratorer": "registrator", "Synpunkt-Chef-Hemtjanst-Norr":
          "chef:hemtjanst_norr", ENTRA_CHEF_GROUP: "chef:gata_park",
          "Synpunkt.Admin": "admin"}
USERS: dict[str, dict[str, Any]] = {
    "eva": {"email": "Eva.Registrator@ekby.example", "groups": ["Synpunkt-Registratorer",
                                                               "Alla-anstallda"]},
    "lars": {"email": "lars.chef@ekby.example", "groups": ["Synpunkt-Chef-Hemtjanst-Norr"]},
    "gun": {"email": "gun.gata@ekby.example", "groups": [ENTRA_CHEF_GROUP]},
    "ada": {"email": "ada.admin@ekby.example", "groups": [], "roles": ["Synpunkt.Admin"]},
    "nils": {"email": "nils@ekby.example", "groups": ["Alla-anstallda"]},
    "tvea": {"email": "tvea@ekby.example", "groups": ["Synpunkt-Registratorer",
                                                      "Synpunkt-Chef-Hemtjanst-Norr"]},
}


def _client(client_id: str, redirect: str) -> dict[str, Any]:
    return {"client_id": client_id, "client_secret": SECRET, "redirect_uris": [redirect],
            "grant_types": ["authorization_code"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic"}


@dataclass
class Providers:
    main: OidcProvider
    other: OidcProvider  # another issuer that signs with the same key


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Providers]:
    key = signing_key()
    clients = [_client("synpunkt", CALLBACK),
               _client("annan-app", "http://testserver/annan/callback")]
    root = tmp_path_factory.mktemp("oidc")
    main = OidcProvider(root / "main", clients=clients, users=USERS, key=key)
    other = OidcProvider(root / "other", clients=clients, users=USERS, key=key)
    with main, other:
        yield Providers(main, other)


def oidc_settings(home: Path, issuer: str, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "oidc_client_id": "synpunkt", "oidc_client_secret": SECRET,
        "oidc_scopes": "openid email profile groups", "oidc_groups": json.dumps(GROUPS)}
    return Settings(home=home, config=SHIPPED_CONFIG, oidc_issuer=issuer, **(values | more))


@dataclass
class Site:
    app: App
    cases: dict[str, int]

    def browser(self) -> TestClient:
        return TestClient(create_app(self.app, lambda _i: None), base_url="http://testserver")


def _register(app: App, key: str, subject: str, text: str) -> int:
    raw = (f"From: Anna <anna.{key}@example.se>\nTo: synpunkter@ekby.example\n"
           f"Subject: {subject}\nMessage-ID: <{key}@example.se>\n\n{text}\n").encode()
    sure = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
    case_id = process_inbound(replace(app, classifier=FixedClassifier(sure)), inbound).case_id
    assert case_id is not None
    return case_id


@pytest.fixture
def site(tmp_path: Path, providers: Providers) -> Site:
    app = build_app(oidc_settings(tmp_path / "home", providers.main.issuer))
    upgrade(app.engine)
    cases = {"norr": _register(app, "a", "Hemtjänsten", "Hemtjänsten i Lövsta kom inte i går."),
             "gata": _register(app, "b", "Gatlampa", "Gatlampan på Ekvägen är trasig.")}
    return Site(app, cases)


def at_the_provider(url: str, login: str) -> str:
    """A person at the provider: its login form (any password), its consent
    form; the URL it sends the browser back to (on http://testserver)."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        answer = browser.get(url)
        for _ in range(12):
            if answer.is_redirect:
                location = urljoin(str(answer.url), answer.headers["location"])
                if location.startswith("http://testserver/"):
                    return location
                answer = browser.get(location)
                continue
            assert answer.status_code == 200, answer.text[:500]
            form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', answer.text, re.S)
            assert form is not None, answer.text[:2000]
            fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*'
                                     r'value="([^"]*)"', form.group(2)))
            if 'name="login"' in form.group(2):
                fields |= {"login": login, "password": "vilket-som-helst"}
            answer = browser.post(urljoin(str(answer.url), form.group(1)), data=fields)
    raise AssertionError("the provider never sent the browser back")


def sign_in(site: Site, login: str,
            browser: TestClient | None = None) -> tuple[TestClient, httpx.Response]:
    """The whole flow in one browser: Synpunkt's button, the provider, the
    callback; the browser and Synpunkt's answer to the callback."""
    if browser is None:
        browser = site.browser()
        assert "Logga in med kommunens konto" in browser.get("/login").text
    start = browser.get("/login/oidc", follow_redirects=False)
    assert start.status_code == 303, start.text
    back = at_the_provider(start.headers["location"], login)
    assert back.startswith(CALLBACK + "?")
    return browser, browser.get(back.removeprefix("http://testserver"), follow_redirects=False)


def users(site: Site) -> dict[str, tuple[str, str | None]]:
    with site.app.sessions() as session:
        return {u.email: (u.role, u.enhet) for u in session.scalars(select(User))}


def sessions(site: Site) -> int:
    with site.app.sessions() as session:
        return len(session.scalars(select(WebSession)).all())


def test_a_registrator_group_gives_a_registrator_session(site: Site) -> None:
    browser, answer = sign_in(site, "eva")
    assert answer.status_code == 303 and answer.headers["location"] == "/inkorg"
    assert "synpunkt_session" in answer.headers["set-cookie"]
    assert browser.get("/inkorg").status_code == 200
    assert users(site) == {"eva.registrator@ekby.example": ("registrator", None)}
    with site.app.sessions() as session:
        logged = session.scalars(select(Event).where(Event.kind == "user.logged_in")).all()
        assert [(e.actor, e.detail) for e in logged] == [
            ("user:eva.registrator@ekby.example", {"channel": "oidc"})]
    # signing in again in the same browser: the same user row, a new session,
    # the one the browser had closed on the server (no fixation)
    before = browser.cookies["synpunkt_session"]
    browser, answer = sign_in(site, "eva", browser)
    assert answer.headers["location"] == "/inkorg" and len(users(site)) == 1
    assert browser.cookies["synpunkt_session"] != before and sessions(site) == 1
    # the CSRF token of the session works as after a password login
    token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/inkorg").text)
    assert token is not None
    assert browser.post("/logout", data={"csrf": token.group(1)},
                        follow_redirects=False).headers["location"] == "/login"
    assert sessions(site) == 0


def test_a_chef_group_gives_the_chef_of_its_enhet_who_sees_only_that(site: Site) -> None:
    chef, answer = sign_in(site, "lars")
    assert answer.headers["location"] == "/enhet"
    assert users(site) == {"lars.chef@ekby.example": ("chef", "hemtjanst_norr")}
    assert chef.get(f"/cases/{site.cases['norr']}").status_code == 200
    assert chef.get(f"/cases/{site.cases['gata']}").status_code == 403
    for path in ("/inkorg", "/arenden", "/admin"):
        assert chef.get(path).status_code == 403, path
    view = chef.get("/enhet").text
    assert "Hemtjänsten" in view and "Gatlampa" not in view


def test_entra_object_id_groups_and_app_roles(site: Site) -> None:
    gun, answer = sign_in(site, "gun")  # groups as object ids, as Entra ID sends them
    assert answer.headers["location"] == "/enhet"
    assert gun.get(f"/cases/{site.cases['gata']}").status_code == 200
    assert gun.get(f"/cases/{site.cases['norr']}").status_code == 403
    _ada, answer = sign_in(site, "ada")  # an app role in the `roles` claim
    assert answer.headers["location"] == "/admin"
    assert users(site)["ada.admin@ekby.example"] == ("admin", None)


def test_groups_that_map_to_nothing_are_refused(site: Site) -> None:
    browser, answer = sign_in(site, "nils")
    assert answer.status_code == 403
    assert "Be administratören att lägga till dig i rätt grupp" in answer.text
    assert "synpunkt_session" not in answer.headers.get("set-cookie", "")
    assert browser.get("/inkorg", follow_redirects=False).headers["location"] == "/login"
    assert users(site) == {} and sessions(site) == 0
    _b, answer = sign_in(site, "tvea")  # two grants: refused, not a guess
    assert answer.status_code == 403 and "flera Synpunkt-grupper" in answer.text
    assert users(site) == {}


def test_a_tampered_state_or_another_browsers_callback_is_refused(site: Site) -> None:
    browser = site.browser()
    start = browser.get("/login/oidc", follow_redirects=False)
    back = at_the_provider(start.headers["location"], "eva")
    query = parse_qs(urlsplit(back).query)
    tampered = {"code": query["code"][0], "state": query["state"][0][:-2] + "xy"}
    answer = browser.get("/login/oidc/callback?" + urlencode(tampered), follow_redirects=False)
    assert answer.status_code == 400 and "kunde inte slutföras" in answer.text
    # the genuine answer, said to come from another provider (RFC 9207's iss)
    assert query["iss"] == [site.app.settings.oidc_issuer]
    browser = site.browser()
    start = browser.get("/login/oidc", follow_redirects=False)
    back = at_the_provider(start.headers["location"], "eva")
    mixed = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    mixed["iss"] = "https://evil.example"
    answer = browser.get("/login/oidc/callback?" + urlencode(mixed), follow_redirects=False)
    assert answer.status_code == 400
    # the genuine callback in a browser that never started the sign-in (login CSRF)
    stranger = site.browser()
    answer = stranger.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert answer.status_code == 400
    assert users(site) == {} and sessions(site) == 0


def test_a_switched_off_user_stays_out_and_a_group_change_is_taken(site: Site) -> None:
    sign_in(site, "lars")
    with site.app.sessions.begin() as session:
        user = session.scalars(select(User)).one()
        user.active = False
    _b, answer = sign_in(site, "lars")
    assert answer.status_code == 403 and "avstängt" in answer.text
    with site.app.sessions.begin() as session:
        user = session.scalars(select(User)).one()
        user.active, user.role, user.enhet = True, "registrator", None
    _b, answer = sign_in(site, "lars")  # the provider's groups decide, at every sign-in
    assert answer.headers["location"] == "/enhet"
    assert users(site) == {"lars.chef@ekby.example": ("chef", "hemtjanst_norr")}


def test_passwords_can_be_switched_off(site: Site, tmp_path: Path) -> None:
    app = replace(site.app, settings=site.app.settings.model_copy(
        update={"oidc_passwords": False}))
    browser = TestClient(create_app(app, lambda _i: None))
    page = browser.get("/login").text
    assert "Logga in med kommunens konto" in page and 'name="password"' not in page
    answer = browser.post("/login", data={"email": "eva@ekby.example", "password": "x" * 20,
                                          "csrf": "x"})
    assert answer.status_code == 403


def test_without_oidc_nothing_changes(tmp_path: Path) -> None:
    app = build_app(Settings(home=tmp_path / "home", config=SHIPPED_CONFIG))
    upgrade(app.engine)
    browser = TestClient(create_app(app, lambda _i: None))
    page = browser.get("/login").text
    assert "kommunens konto" not in page and 'name="password"' in page
    assert browser.get("/login/oidc", follow_redirects=False).status_code == 404
    assert browser.get("/login/oidc/callback", follow_redirects=False).status_code == 404


# --- the ID token's validation, with real tokens from real providers ---

def token_from(provider: OidcProvider, client_id: str, redirect: str, nonce: str) -> str:
    """An ID token the provider issues to ``client_id`` after a person's sign-in."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
                       "scope": "openid email groups", "state": "s" * 16, "nonce": nonce,
                       "code_challenge": challenge.decode().rstrip("="),
                       "code_challenge_method": "S256"})
    back = at_the_provider(f"{provider.issuer}/auth?{query}", "eva")
    code = parse_qs(urlsplit(back).query)["code"][0]
    answer = httpx.post(f"{provider.issuer}/token", auth=(client_id, SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["id_token"]
    return token


def test_the_id_token_is_checked(providers: Providers, tmp_path: Path) -> None:
    client = OidcClient(oidc_settings(tmp_path, providers.main.issuer))
    good = token_from(providers.main, "synpunkt", CALLBACK, "n" * 20)
    assert client.validate(good, "n" * 20)["groups"] == USERS["eva"]["groups"]
    refused = {
        "wrong nonce": (good, "m" * 20),
        "another client's token (aud)": (
            token_from(providers.main, "annan-app", "http://testserver/annan/callback", "n" * 20),
            "n" * 20),
        # signed with the very same key, but by another issuer
        "another issuer": (token_from(providers.other, "synpunkt", CALLBACK, "n" * 20), "n" * 20),
    }
    head, body, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["groups"] = ["Synpunkt.Admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    refused["changed claims"] = (f"{head}.{forged}.{signature}", "n" * 20)
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    refused["alg none"] = (f"{unsigned}.{body}.", "n" * 20)
    for label, (token, nonce) in refused.items():
        try:
            client.validate(token, nonce)
        except SignInError:
            continue
        pytest.fail(f"accepted: {label}")


def test_a_bad_setting_stops_the_program_with_one_line(tmp_path: Path,
                                                       providers: Providers) -> None:
    with pytest.raises(ConfigError, match="gruppen 'G' ger enheten 'finns_inte'"):
        create_app(build_app(oidc_settings(tmp_path / "a", providers.main.issuer,
                                           oidc_groups='{"G": "chef:finns_inte"}')),
                   lambda _i: None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    for value, expected in (('{"G": "chefen"}', "skriv registrator, admin eller chef:ENHET"),
                            ("G=registrator", "SYNPUNKT_OIDC_GROUPS är inte JSON")):
        env |= {"SYNPUNKT_HOME": str(tmp_path / "b"), "SYNPUNKT_OIDC_ISSUER":
                providers.main.issuer, "SYNPUNKT_OIDC_CLIENT_ID": "synpunkt",
                "SYNPUNKT_OIDC_GROUPS": value}
        done = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "users", "list"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr


def test_oidc_adds_two_public_routes_that_go_only_to_the_provider(site: Site,
                                                                   tmp_path: Path) -> None:
    """The routes web_security/ walks are those without OIDC; these two are
    what OIDC adds, both public by design, neither an open redirect."""
    def routes(app: App) -> set[tuple[str, str]]:
        return endpoints(create_app(app, lambda _i: None))

    plain = build_app(Settings(home=tmp_path / "plain", config=SHIPPED_CONFIG))
    assert routes(site.app) - routes(plain) == {("GET", "/login/oidc"),
                                                ("GET", "/login/oidc/callback")}
    browser = site.browser()
    endpoint = f"{site.app.settings.oidc_issuer}/auth?"
    for name in ("next", "return", "redirect", "url", "redirect_uri"):
        answer = browser.get(f"/login/oidc?{name}=https://evil.example/",
                             follow_redirects=False)
        assert answer.headers["location"].startswith(endpoint)
        assert "evil" not in answer.headers["location"]
    answer = browser.get("/login/oidc/callback?code=x&state=y&iss=http://evil.example",
                         follow_redirects=False)
    assert answer.status_code == 400 and "location" not in answer.headers
