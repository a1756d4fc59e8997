"""Logging in and out: a form with a double-submit CSRF token, the same
answer for a wrong address or password, lockout, a new session each time."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from review.access import start_page
from review.identity import IdentityProvider, LockedOutError
from review.sessions import COOKIE, IDLE, close_session, find_session, open_session
from review.web import Db, check_csrf, render, secure_cookies, see_other
from service.app import App

LOGIN_COOKIE = "synpunkt_login"
WRONG = "Fel e-postadress eller lösenord."


def router(app: App, identity: IdentityProvider) -> APIRouter:
    routes = APIRouter()

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
        close_session(session, request.cookies.get(COOKIE))  # never keep a pre-login session
        token = open_session(session, person, app.clock())
        response = see_other(start_page(person))
        response.set_cookie(COOKIE, token, max_age=int(IDLE.total_seconds()), httponly=True,
                            secure=secure_cookies(request, app), samesite="lax", path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/login")
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

    def _form(request: Request, *, error: str | None, email: str | None,
              status_code: int = 200) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(request, app, "login.html", None, status_code=status_code,
                          error=error, email=email, login_csrf=token)
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True,
                            secure=secure_cookies(request, app), samesite="strict",
                            path="/login")
        return response

    return routes
