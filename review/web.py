"""The plumbing every page shares: templates (autoescaped), the logged-in
person from the session cookie, CSRF checks, security headers."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from config.errors import PermanentError
from review.access import Role
from review.sessions import COOKIE, Current, find_session
from service.app import App

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)
ROLE_NAMES = {Role.REGISTRATOR: "registrator", Role.CHEF: "chef", Role.ADMIN: "admin"}
# Our pages load only our own stylesheet; no script, no frame, no remote content.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class LoginRequiredError(PermanentError):
    """No valid session: the page answers with a redirect to /login."""


def render(request: Request, app: App, name: str, current: Current | None,
           status_code: int = 200, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(
        kommun=app.kommun.organisation.kommun.namn, roles=ROLE_NAMES,
        person=current.person if current else None, csrf=current.csrf if current else "",
        flash=request.query_params.get("klart"), nav=context.pop("nav", ""), **context)
    return HTMLResponse(html, status_code=status_code)


def app_of(request: Request) -> App:
    """The App this web application was built from (see review.app.create_app)."""
    app: App = request.app.state.synpunkt
    return app


def _db(request: Request) -> Iterator[Session]:
    with app_of(request).sessions.begin() as session:
        yield session


# The two dependencies every page takes: one database session per request
# (committed at its end), and the logged-in person (LoginRequiredError
# without a valid session). FastAPI shares the session between them.
Db = Annotated[Session, Depends(_db)]


def _who(request: Request, session: Db) -> Current:
    return current(request, session, app_of(request))


Who = Annotated[Current, Depends(_who)]
# A row id in a path: a positive 32-bit integer, so an absurd number is a 422,
# never a database overflow (a 500).
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def require(allowed: bool) -> None:
    """403 unless the person's role allows it."""
    if not allowed:
        raise HTTPException(status_code=403, detail="din roll får inte göra det här")


def current(request: Request, session: Session, app: App) -> Current:
    found = find_session(session, request.cookies.get(COOKIE), app.clock())
    if found is None:
        raise LoginRequiredError
    return found


def check_csrf(current: Current, given: str | None) -> None:
    if not given or not hmac.compare_digest(given.encode(), current.csrf.encode()):
        raise HTTPException(status_code=403, detail="ogiltig eller saknad CSRF-token")


def secure_cookies(request: Request, app: App) -> bool:
    public = app.settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def see_other(path: str) -> RedirectResponse:
    """A redirect to one of our own paths only (never an open redirect)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        path = "/"
    return RedirectResponse(path, status_code=303)


def security_headers(response: Response) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
