"""Logging in and out: a form with a double-submit CSRF token, the same
answer for a wrong address or password, lockout, a new session each time;
with SYNPUNKT_OIDC_ISSUER, "Logga in med kommunens konto" (review/oidc.py)."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from config.errors import ConfigError
from review.access import Person, start_page
from review.identity import IdentityProvider, LockedOutError, sign_in_vouched
from review.oidc import (
    PENDING_SECONDS,
    OidcClient,
    Pending,
    ProviderError,
    SignInError,
    email_of,
    grant_of,
)
from review.sessions import COOKIE, IDLE, close_session, find_session, open_session
from review.web import Db, check_csrf, render, secure_cookies, see_other
from service.app import App

log = logging.getLogger(__name__)
LOGIN_COOKIE = "synpunkt_login"
OIDC_COOKIE = "synpunkt_oidc"
OIDC_PATH = "/login/oidc"
WRONG = "Fel e-postadress eller lösenord."
NO_GROUP = ("Ditt konto har ingen behörighet i Synpunkt. Be administratören att lägga till "
            "dig i rätt grupp.")
FAILED = "Inloggningen kunde inte slutföras. Försök igen."


def router(app: App, identity: IdentityProvider) -> APIRouter:
    routes = APIRouter()
    oidc = oidc_client(app)
    passwords = oidc is None or app.settings.oidc_passwords

    @routes.get("/login")
    def login_form(request: Request, session: Db) -> Response:
        found = find_session(session, request.cookies.get(COOKIE), app.clock())
        if found is not None:
            return see_other(start_page(found.person))
        return _form(request, error=None, email=None)

    @routes.post("/login")
    def login(request: Request, session: Db,
              email: Annotated[str, Form(max_length=320)],
              password: Annotated[str, Form(max_length=1000)],
              csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        if not passwords:
            return _form(request, error="Logga in med kommunens konto.", email=None,
                         status_code=403)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
            return _form(request, error="Formuläret var för gammalt. Försök igen.", email=email,
                         status_code=403)
        try:
            person = identity.authenticate(session, email, password, app.clock())
        except LockedOutError as exc:
            return _form(request, error=f"För många misslyckade försök: {exc}. Försök igen "
                         "senare eller kontakta en administratör.", email=email, status_code=429)
        if person is None:
            return _form(request, error=WRONG, email=email, status_code=401)
        return _signed_in(request, session, person)

    if oidc is not None:
        @routes.get(OIDC_PATH)
        def oidc_start(request: Request) -> Response:
            """Off to the identity provider, carrying state, nonce and the PKCE
            verifier in a short-lived cookie that only the callback reads."""
            try:
                url, pending = oidc.authorization_url(_redirect_uri(request, app))
            except ProviderError as exc:
                return _unavailable(request, exc)
            response = RedirectResponse(url, status_code=303)
            # Lax: the provider's redirect back is a top-level GET from its site
            response.set_cookie(OIDC_COOKIE, pending.encode(), max_age=PENDING_SECONDS,
                                httponly=True, secure=secure_cookies(request, app),
                                samesite="lax", path=OIDC_PATH)
            return response

        @routes.get(f"{OIDC_PATH}/callback")
        def oidc_callback(request: Request, session: Db,
                          code: Annotated[str, Query(max_length=4000)] = "",
                          state: Annotated[str, Query(max_length=500)] = "",
                          iss: Annotated[str, Query(max_length=500)] = "") -> Response:
            pending = Pending.decode(request.cookies.get(OIDC_COOKIE))
            if (pending is None or not state
                    or not hmac.compare_digest(state.encode(), pending.state.encode())
                    or (iss and iss.rstrip("/") != oidc.issuer)):  # RFC 9207, mix-up
                return _refused(request, FAILED, status_code=400)
            if not code:  # the provider's error=..., e.g. the person cancelled
                return _refused(request, "Inloggningen avbröts.", status_code=400)
            try:
                claims = oidc.redeem(code, pending, _redirect_uri(request, app))
                grant = grant_of(claims, app.settings.oidc_groups_claim,
                                 app.settings.oidc_group_map)
                if grant is None:
                    log.info("oidc: sign-in refused, no group of the user is mapped")
                    return _refused(request, NO_GROUP)
                email = email_of(claims, app.settings.oidc_email_claim)
            except SignInError as exc:
                return _refused(request, str(exc))
            except ProviderError as exc:
                return _unavailable(request, exc)
            person = sign_in_vouched(session, email, grant, app.clock())
            if person is None:
                return _refused(request, "Ditt konto är avstängt i Synpunkt. Kontakta "
                                "administratören.")
            response = _signed_in(request, session, person)
            response.delete_cookie(OIDC_COOKIE, path=OIDC_PATH)
            return response

    @routes.post("/logout")
    def logout(request: Request, session: Db,
               csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        token = request.cookies.get(COOKIE)
        found = find_session(session, token, app.clock())
        if found is not None:
            check_csrf(found, csrf)
            close_session(session, token)
        response = see_other("/login")
        response.delete_cookie(COOKIE, path="/")
        return response

    def _signed_in(request: Request, session: Session, person: Person) -> Response:
        close_session(session, request.cookies.get(COOKIE))  # never keep a pre-login session
        token = open_session(session, person, app.clock())
        response = see_other(start_page(person))
        response.set_cookie(COOKIE, token, max_age=int(IDLE.total_seconds()), httponly=True,
                            secure=secure_cookies(request, app), samesite="lax", path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    def _refused(request: Request, error: str, status_code: int = 403) -> Response:
        response = _form(request, error=error, email=None, status_code=status_code)
        response.delete_cookie(OIDC_COOKIE, path=OIDC_PATH)
        return response

    def _unavailable(request: Request, exc: ProviderError) -> Response:
        log.warning("oidc: the identity provider failed: %s", exc)
        return _refused(request, "Kommunens inloggningstjänst svarar inte just nu. Försök igen "
                        "om en stund.", status_code=502)

    def _form(request: Request, *, error: str | None, email: str | None,
              status_code: int = 200) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(request, app, "login.html", None, status_code=status_code,
                          error=error, email=email, login_csrf=token,
                          oidc=oidc is not None, passwords=passwords)
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True,
                            secure=secure_cookies(request, app), samesite="strict",
                            path="/login")
        return response

    return routes


def oidc_client(app: App) -> OidcClient | None:
    """The provider's client when SYNPUNKT_OIDC_ISSUER is set; every enhet the
    group mapping names must exist (else one line, at start)."""
    settings = app.settings
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_group_map:
        raise ConfigError("SYNPUNKT_OIDC_GROUPS", None, "ingen grupp ger behörighet; skriv "
                          '{"GRUPP": "registrator", "GRUPP2": "chef:ENHET", ...}')
    for group, grant in settings.oidc_group_map.items():
        enhet = grant.partition(":")[2]
        if enhet and app.kommun.organisation.enhet(enhet) is None:
            raise ConfigError("SYNPUNKT_OIDC_GROUPS", None, f"gruppen {group!r} ger enheten "
                              f"{enhet!r}, som inte finns i organisation.yaml")
    return OidcClient(settings)


def _redirect_uri(request: Request, app: App) -> str:
    """Where the provider sends the browser back: under SYNPUNKT_PUBLIC_URL
    when set (register exactly this at the provider)."""
    if app.settings.public_url:
        return f"{app.settings.public_url.rstrip('/')}{OIDC_PATH}/callback"
    return str(request.url_for("oidc_callback"))
