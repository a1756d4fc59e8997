"""The registrator's inbox, the chef's view, the case page and its actions.
Every view and action checks the person's role on the server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request, Response
from sqlalchemy.orm import Session

from cases import audit
from cases.inbound import take_up_again
from cases.lifecycle import NoSuchStageError, close_case, open_stages
from cases.models import Case, Inbound
from config.settings import Limits
from ingest.message import Attachment, Message
from ingest.parse import html_body, parse
from notify import attempt
from review import views
from review.access import (
    may_correct,
    may_handle_case,
    may_see_case,
    may_see_personnummer,
    start_page,
)
from review.original import safe_html
from review.sessions import Current
from review.web import Db, RowId, Who, app_of, check_csrf, render, require, see_other
from routing.load import FLAGS
from service.app import App
from service.correction import correct_case
from service.feedback import give_feedback


def router(app: App, enqueue: Callable[[int], None]) -> APIRouter:
    routes = APIRouter()


    def names() -> dict[str, str]:
        return {e.id: e.namn for _, _, e in app.kommun.organisation.enheter()}

    @routes.get("/")
    def home(me: Who) -> Response:
        return see_other(start_page(me.person))

    @routes.get("/inkorg")
    def inbox(request: Request, session: Db, me: Who) -> Response:
        require(may_correct(me.person))
        now = app.clock()
        day = views.today(now)
        return render(request, app, "inbox.html", me, nav="inkorg",
                      review=views.review_rows(session, day, names()),
                      today=views.todays_rows(session, now, names()),
                      inbound=views.set_aside(session, 14, now),
                      outbox=views.outbox_attention(session))

    @routes.get("/arenden")
    def all_cases(request: Request, session: Db, me: Who) -> Response:
        require(may_correct(me.person))
        return render(request, app, "cases.html", me, nav="arenden",
                      rows=views.all_rows(session, views.today(app.clock()), names()))

    @routes.get("/enhet")
    def enhet(request: Request, session: Db, me: Who) -> Response:
        require(me.person.enhet is not None)
        enhet_id = str(me.person.enhet)
        return render(request, app, "chef.html", me, nav="enhet",
                      enhet_namn=names().get(enhet_id, enhet_id),
                      rows=views.enhet_rows(session, enhet_id, views.today(app.clock()), names()))

    @routes.get("/cases/{case_id}")
    def case_page(request: Request, session: Db, me: Who, case_id: RowId) -> Response:
        case = _visible_case(session, me, case_id)
        handles = may_handle_case(me.person, case.enhet)
        contact = case.contact
        sender = (contact.email or contact.phone) if contact and handles else None
        show_pnr = may_see_personnummer(me.person, case.enhet)
        original = _original(session, case)
        kept_apart = views.deidentified(session, case.id)  # read via /original, logged
        html = html_body(original) if original and not kept_apart else None
        return render(
            request, app, "case.html", me, case=case, received=views.local(case.received_at),
            sender=sender, enhet_namn=names().get(case.enhet, case.enhet),
            text=views.shown_text(case.text, show_pnr),
            original_html=safe_html(html, show_pnr) if html else None,
            attachments=_attachments(original, app.settings.limits) if original and handles else [],
            confidence=views.percent(case.confidence),
            deadlines=views.deadlines(case, views.today(app.clock())),
            stages=views.open_stages(case),
            events=views.timeline(session, case.id), may_correct=may_correct(me.person),
            may_handle=handles, category_names=views.CATEGORY_NAMES,
            status_names=views.STATUS_NAMES, flag_names=FLAGS,
            enheter=[e for _, _, e in app.kommun.organisation.enheter()],
            deidentified=kept_apart,
            handlers=_handlers(app, case) if handles or may_correct(me.person) else [])

    @routes.get("/cases/{case_id}/bilagor/{index}")
    def attachment(request: Request, session: Db, me: Who, case_id: RowId,
                   index: int) -> Response:
        """An attachment, always downloaded, never shown in the browser."""
        case = _visible_case(session, me, case_id)
        require(may_handle_case(me.person, case.enhet))
        original = _original(session, case)
        files = _attachments(original, app_of(request).settings.limits) if original else []
        if not 0 <= index < len(files) or files[index].content is None:
            raise HTTPException(status_code=404, detail="bilagan finns inte")
        item = files[index]
        audit.record(session, me.person.actor, "case.attachment_downloaded", case_id=case.id,
                     index=index)
        return Response(item.content, media_type="application/octet-stream", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(item.filename)}",
            "X-Content-Type-Options": "nosniff"})

    @routes.post("/cases/{case_id}/correct")
    def correct(session: Db, me: Who, case_id: RowId,
                category: Annotated[str, Form(max_length=20)],
                enhet: Annotated[str, Form(max_length=60)],
                flags: Annotated[list[str] | None, Form()] = None,
                csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_csrf(me, csrf)
        require(may_correct(me.person))
        case = _visible_case(session, me, case_id)
        if category not in views.CATEGORY_NAMES or enhet not in names():
            raise HTTPException(status_code=400, detail="okänd kategori eller enhet")
        chosen = [f for f in (flags or []) if f in FLAGS]
        changes = correct_case(app, session, case, category, enhet, chosen, me.person.actor,
                               me.person.email)
        return see_other(f"/cases/{case.id}?klart=" + ("Rättat och granskat." if changes
                                                        else "Bekräftat."))

    @routes.post("/cases/{case_id}/note")
    def note(session: Db, me: Who, case_id: RowId, tasks: BackgroundTasks,
             note: Annotated[str, Form(min_length=1, max_length=10_000)],
             kind: Annotated[str, Form(max_length=20)] = "note",
             frist: Annotated[str, Form(max_length=40)] = "",
             csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_csrf(me, csrf)
        case = _visible_case(session, me, case_id)
        require(may_handle_case(me.person, case.enhet))
        now, actor = app.clock(), me.person.actor
        if kind in ("feedback", "feedback_send"):
            try:
                given = give_feedback(app, session, case.id, note, actor, frist or None,
                                      send=kind == "feedback_send")
            except NoSuchStageError as exc:
                return see_other(f"/cases/{case.id}?klart={exc}")
            left = [d.description for d in open_stages(case)]
            if given.outbox_id is not None:
                session.commit()  # sent only once it is kept with the case
                tasks.add_task(attempt.deliver_many, app.sessions, app.transports,
                               [given.outbox_id], app.clock(), app.delivery_policy)
            done = ("Återkopplingen är skickad till avsändaren. " if given.outbox_id else
                    "Återkoppling registrerad. ")
            done += ("Påminnelserna upphör." if not left else
                     "Kvar att ge: " + "; ".join(left) + ".")
        elif kind == "close":
            close_case(session, case.id, note, actor, now)
            done = "Ärendet är avslutat."
        else:
            audit.record(session, actor, "case.note", case_id=case.id, at=now, note=note)
            done = "Anteckningen är sparad."
        return see_other(f"/cases/{case.id}?klart={done}")

    @routes.post("/inbound/{inbound_id}/reprocess")
    def reprocess(session: Db, me: Who, inbound_id: RowId,
                  csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        """Quarantined: processed again. Ignored (automatic, spam, a second
        copy): released, taken up as a person's message."""
        check_csrf(me, csrf)
        require(may_correct(me.person))
        try:
            row = take_up_again(session, inbound_id, me.person.actor)
        except LookupError:
            raise HTTPException(status_code=404) from None
        except ValueError as exc:
            return see_other(f"/inkorg?klart={exc}#ovrigt")
        released = row.released
        session.commit()
        enqueue(inbound_id)
        return see_other("/inkorg?klart=" + ("Släppt igenom: meddelandet blir ett ärende."
                                             if released else "Meddelandet behandlas igen."))

    @routes.post("/utskick/{outbox_id}/skicka-igen")
    def outbox_resend(session: Db, me: Who, outbox_id: RowId,
                      csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        """An uncertain or failed message goes again (the scheduler or the
        next pass delivers it)."""
        return _decide(session, me, csrf, outbox_id, attempt.resend,
                       "Utskicket skickas igen inom någon minut.")

    @routes.post("/utskick/{outbox_id}/kom-fram")
    def outbox_arrived(session: Db, me: Who, outbox_id: RowId,
                       csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        """The registrator found that an uncertain message did arrive."""
        return _decide(session, me, csrf, outbox_id, attempt.confirm_sent,
                       "Markerat som skickat; det skickas inte igen.")

    def _decide(session: Session, me: Current, csrf: str, outbox_id: int,
                decision: Callable[[Session, int, str, datetime], object],
                done: str) -> Response:
        check_csrf(me, csrf)
        require(may_correct(me.person))
        try:
            decision(session, outbox_id, me.person.actor, app.clock())
        except LookupError:
            raise HTTPException(status_code=404) from None
        except ValueError as exc:
            done = str(exc)
        return see_other(f"/inkorg?klart={done}#utskick")

    def _visible_case(session: Session, me: Current, case_id: int) -> Case:
        case = session.get(Case, case_id)
        if case is None:
            raise HTTPException(status_code=404, detail="ärendet finns inte")
        if not may_see_case(me.person, case.enhet, case.restricted):
            raise HTTPException(status_code=403, detail="ärendet hör till en annan enhet")
        return case

    return routes


def _handlers(app: App, case: Case) -> list[tuple[str, str]]:
    """(e-post, namn) of those who may be assigned the case."""
    enhet = app.kommun.organisation.enhet(case.enhet)
    return [(p.epost, p.namn) for p in enhet.handlers()] if enhet is not None else []


def _original(session: Session, case: Case) -> bytes | None:
    """The raw mail a case was registered from (an SMS has no original to show)."""
    if case.inbound_id is None or case.channel not in ("email", "webform"):
        return None
    row = session.get(Inbound, case.inbound_id)
    return row.raw if row is not None else None


def _attachments(raw: bytes, limits: Limits) -> list[Attachment]:
    """The attachments as the pipeline saw them: parsed within the app's own limits."""
    parsed = parse(raw, limits)
    return list(parsed.attachments) if isinstance(parsed, Message) else []
