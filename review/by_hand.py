"""The registrator's page for registering by hand: a letter, a phone call, a
visit or a complaint made in person (``service.by_hand``). The case is
registered in the request, so the page can give its diarienummer at once;
its receipt and notices are delivered right after the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request, Response

from cases.register import filed_as
from ingest.by_hand import BY_HAND, EntryRefusedError, entry
from notify import sending
from review.access import may_correct
from review.web import Db, Who, check_csrf, render, require, see_other
from service.app import App
from service.by_hand import register_by_hand

CHANNEL_NAMES = {"brev": "Brev", "telefon": "Telefonsamtal", "besok": "Besök",
                 "muntlig": "Muntligt, på annat sätt"}


def router(app: App) -> APIRouter:
    routes = APIRouter()

    def page(request: Request, me: Who, problem: str | None = None,
             **given: str) -> Response:
        return render(request, app, "by_hand.html", me, nav="registrera",
                      channels=[(str(c), CHANNEL_NAMES[str(c)]) for c in BY_HAND],
                      problem=problem, given=given, status_code=400 if problem else 200)

    @routes.get("/registrera")
    def form(request: Request, me: Who) -> Response:
        require(may_correct(me.person))
        return page(request, me)

    @routes.post("/registrera")
    def register(request: Request, session: Db, me: Who, tasks: BackgroundTasks,
                 kanal: Annotated[str, Form(max_length=20)],
                 text: Annotated[str, Form(max_length=100_000)],
                 svar: Annotated[str, Form(max_length=10)] = "",
                 epost: Annotated[str, Form(max_length=320)] = "",
                 telefon: Annotated[str, Form(max_length=40)] = "",
                 namn: Annotated[str, Form(max_length=200)] = "",
                 amne: Annotated[str, Form(max_length=200)] = "",
                 samtycke: Annotated[str, Form(max_length=10)] = "",
                 csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_csrf(me, csrf)
        require(may_correct(me.person))
        try:
            written = entry(kanal, text, me.person.actor, app.clock(),
                            email=epost if svar == "epost" else None,
                            phone=telefon if svar == "telefon" else None,
                            anonymous=svar == "anonym", name=namn, subject=amne,
                            consent=samtycke == "ja")
        except EntryRefusedError as exc:
            return page(request, me, _for_the_page(str(exc)), kanal=kanal, text=text, svar=svar,
                        epost=epost, telefon=telefon, namn=namn, amne=amne)
        outcome = register_by_hand(app, session, written)
        number = outcome.diarienummer
        session.commit()
        if outcome.outbox_ids:
            tasks.add_task(sending.deliver_many, app.sessions, app.transports,
                           list(outcome.outbox_ids), app.clock(), app.delivery_policy)
        return see_other(f"/cases/{outcome.case_id}?klart={filed_as(number or '')}")

    return routes


def _for_the_page(problem: str) -> str:
    """The command line's words for the options, as the form names them."""
    return (problem.replace("--samtycke", "rutan för samtycke")
            .replace("ange en av --sender (e-post), --phone (telefon) eller --anonymous",
                     "välj hur personen vill få svar: e-post, telefon eller anonymt"))
