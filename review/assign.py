"""Assigning a handläggare on the case page (service.assign): the registrator
or the enhet's chef; the bekräftelse and the handläggare's notice are
delivered right after the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Response

from cases.lifecycle import CaseClosedError
from cases.models import Case
from notify import sending
from review.access import may_correct, may_handle_case
from review.web import Db, RowId, Who, check_csrf, require, see_other
from service.app import App
from service.assign import NotAHandlerError, assign


def router(app: App) -> APIRouter:
    routes = APIRouter()

    @routes.post("/cases/{case_id}/handlaggare")
    def assign_handler(session: Db, me: Who, case_id: RowId, tasks: BackgroundTasks,
                       epost: Annotated[str, Form(max_length=320)],
                       csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_csrf(me, csrf)
        case = session.get(Case, case_id)
        if case is None:
            raise HTTPException(status_code=404, detail="ärendet finns inte")
        require(may_correct(me.person) or may_handle_case(me.person, case.enhet))
        try:
            done = assign(app, session, case, epost, me.person.actor)
        except (NotAHandlerError, CaseClosedError) as exc:
            return see_other(f"/cases/{case_id}?klart={exc}")
        session.commit()
        if done.outbox_ids:
            tasks.add_task(sending.deliver_many, app.sessions, app.transports,
                           list(done.outbox_ids), app.clock(), app.delivery_policy)
        sent = len(done.outbox_ids) > 1
        return see_other(f"/cases/{case_id}?klart=Handläggaren är meddelad"
                         + (" och avsändaren har fått en bekräftelse." if sent else "."))

    return routes
