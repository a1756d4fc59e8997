"""Error pages a person can read: 403, 404, 405, 422 and 500 in Swedish, in
the site's layout, saying what happened and where to go. The routes machines
call (the SMS webhooks, /health, /metrics) keep their plain answers."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from review.access import Person, Role, start_page
from review.sessions import COOKIE, Current, find_session
from review.web import render, security_headers
from service.app import App

log = logging.getLogger(__name__)

# Paths that machines call: their errors stay as FastAPI gives them.
MACHINE_PATHS = ("/sms/", "/health", "/metrics", "/static/")

TITLES = {
    400: "Felaktig begäran",
    403: "Du har inte behörighet till sidan",
    404: "Sidan finns inte",
    405: "Det går inte att göra så här",
    409: "Det går inte med ärendet just nu",
    413: "För mycket på en gång",
    422: "Något värde är inte giltigt",
    500: "Något gick fel hos oss",
}
MESSAGES = {
    400: "Begäran kunde inte förstås.",
    403: "Din roll får inte se eller göra det här.",
    404: "Adressen leder inte till något här. Länken kan vara gammal, eller ärendet borttaget "
         "vid gallring.",
    405: "Sidan går inte att öppna på det sättet. Använd knapparna och länkarna på sidorna.",
    413: "Det som skickades var för stort.",
    422: "Ett värde i adressen eller i formuläret är inte giltigt, till exempel ett "
         "ärendenummer som inte är ett tal eller ett fält som saknas. Gå tillbaka och "
         "försök igen.",
    500: "Sidan kunde inte visas på grund av ett fel i Synpunkt. Felet är loggat. Försök "
         "igen om en stund; fortsätter det, kontakta den som förvaltar Synpunkt.",
}
START_NAMES = {Role.REGISTRATOR: "Till inkorgen", Role.CHEF: "Till din enhets ärenden",
               Role.ADMIN: "Till regler och rutiner"}
# A detail our own code raised (Swedish) → the advice shown under it.
OTHER_ENHET = "ärendet hör till en annan enhet"
FIELD_NAMES = {"case_id": "ärendenummer", "inbound_id": "meddelandenummer",
               "outbox_id": "utskicksnummer", "user_id": "användarnummer",
               "index": "bilagans nummer", "note": "anteckning", "category": "kategori",
               "enhet": "enhet", "text": "filens text", "email": "e-postadress",
               "role": "roll", "csrf": "formulärets kontrollkod"} | dict([("password", "lösenord")])


def install(web: FastAPI, app: App) -> None:
    """Add the handlers to the FastAPI application."""

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _machine(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if detail is not None and detail == _phrase(exc.status_code):
            detail = None  # Starlette's English ("Not Found"): ours says it in Swedish
        answer = await run_in_threadpool(_page, app, request, exc.status_code, detail, [])
        if exc.headers:
            answer.headers.update(exc.headers)
        return answer

    @web.exception_handler(RequestValidationError)
    async def bad_value(request: Request, exc: RequestValidationError) -> Response:
        if _machine(request):
            return await request_validation_exception_handler(request, exc)
        fields = sorted({_field(e) for e in exc.errors()} - {""})
        return await run_in_threadpool(_page, app, request, 422, None, fields)

    @web.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("web request failed path=%s", request.url.path, exc_info=exc)
        if _machine(request):
            return Response("internt fel", status_code=500, media_type="text/plain")
        answer = await run_in_threadpool(_page, app, request, 500, None, [])
        security_headers(answer)  # outside the middleware that adds them to the rest
        return answer


def _machine(request: Request) -> bool:
    return request.url.path.startswith(MACHINE_PATHS)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _field(error: object) -> str:
    loc = error.get("loc", ()) if isinstance(error, dict) else ()
    name = str(loc[-1]) if loc else ""
    return FIELD_NAMES.get(name, "")


def _who(app: App, request: Request) -> Current | None:
    """The logged-in person, for the page's navigation; None when not logged
    in or when the register does not answer (a 500 must still be a page)."""
    try:
        with app.sessions.begin() as session:
            return find_session(session, request.cookies.get(COOKIE), app.clock())
    except Exception:
        return None


def _page(app: App, request: Request, status: int, detail: str | None,
          fields: list[str]) -> Response:
    me = _who(app, request)
    person = me.person if me else None
    title = TITLES.get(status, _phrase(status) or "Fel")
    message = MESSAGES.get(status, "Det gick inte.")
    advice = None
    if detail:
        message = detail[0].upper() + detail[1:]
        if not message.endswith((".", "!", "?")):
            message += "."
    if detail == OTHER_ENHET and person is not None:
        title, message = "Ärendet hör till en annan enhet", "Du kan inte öppna det här ärendet."
        advice = _other_enhet(person)
    back = start_page(person) if person else None
    back_name = START_NAMES.get(person.role, "Till startsidan") if person else ""
    try:
        return render(request, app, "error.html", me, status_code=status, title=title,
                      message=message, advice=advice, fields=fields, status=status,
                      back=back, back_name=back_name)
    except Exception:  # the layout itself failed: still Swedish, still a page
        log.exception("error page failed")
        return HTMLResponse(f"<!doctype html><html lang=\"sv\"><title>{title}</title>"
                            f"<h1>{title}</h1><p>Felkod {status}.</p></html>",
                            status_code=status)


def _other_enhet(person: Person) -> str:
    if person.role == Role.CHEF:
        return ("Som chef ser du ärendena för din egen enhet. Ärendet har flyttats till en "
                "annan enhet eller hörde aldrig till din. Hör med registratorn om du tror "
                "att det borde vara ditt, eller gå till din enhets ärenden.")
    return ("Ärendet är sekretessmarkerat och visas bara för registratorn och chefen för "
            "ärendets enhet.")
