"""The registrator's inbox, the chef's view, the case page and its actions.
Every view and action checks the person's role on the server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request, Response
from sqlalchemy.orm import Session

from cases import audit, lifecycle
from cases.inbound import take_up_again
from cases.lifecycle import CaseClosedError, NoSuchStageError, close_case, open_stages
from cases.models import Case, Inbound
from config.organisation import REGISTRATOR
from config.settings import Limits
from config.words import CATEGORY, REGISTRATOR_WORD, Words
from ingest.message import Attachment, Message
from ingest.parse import html_body, parse
from notify import attempt, sending
from review import case_view, views
from review.access import (
    may_correct,
    may_handle_case,
    may_return_case,
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
        words, today = Words(app.kommun), views.today(app.clock())
        corrects = may_correct(me.person)
        return render(
            request, app, "case.html", me, case=case, received=views.local(case.received_at),
            sender=sender, facts=case_view.facts(case, words), zone_note=case_view.ZONE_NOTE,
            explanation=case_view.explanation(case, words),
            text=views.shown_text(case.text, show_pnr),
            original_html=safe_html(html, show_pnr) if html else None,
            attachments=_attachments(original, app.settings.limits) if original and handles else [],
            confidence=views.percent(case.confidence),
            deadlines=case_view.deadlines(case, today, words),
            stages=case_view.open_stages(case, words),
            assessment_open=case_view.assessment_open(case),
            returned=case_view.returned_note(session, case) if corrects or handles else None,
            events=case_view.timeline(session, case.id, words), may_correct=corrects,
            may_handle=handles, may_return=may_return_case(me.person, case.enhet),
            allowed=lifecycle.ACTIONS.get(case.status, frozenset()),
            categories=[(c, words.category(c)) for c in CATEGORY],
            flag_names=[(f, words.flag(f)) for f in FLAGS],
            enheter=[e for _, _, e in app.kommun.organisation.enheter()],
            deidentified=kept_apart,
            handlers=_handlers(app, case) if handles or corrects else [])

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
        if category not in CATEGORY or enhet not in names():
            raise HTTPException(status_code=400, detail="okänd kategori eller enhet")
        chosen = [f for f in (flags or []) if f in FLAGS]
        try:
            changes = correct_case(app, session, case, category, enhet, chosen,
                                   me.person.actor, me.person.email)
        except CaseClosedError as exc:
            return see_other(f"/cases/{case.id}?klart={exc}")
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
        try:
            done = _note(session, me, case, note, kind, frist, tasks)
        except (CaseClosedError, NoSuchStageError) as exc:
            return see_other(f"/cases/{case.id}?klart={exc}")
        return see_other(f"/cases/{case.id}?klart={done}")

    def _note(session: Session, me: Current, case: Case, note: str, kind: str, frist: str,
              tasks: BackgroundTasks) -> str:
        """The note form's action; the lifecycle refuses what the status does not allow."""
        now, actor = app.clock(), me.person.actor
        if kind in ("feedback", "feedback_send"):
            given = give_feedback(app, session, case.id, note, actor, frist or None,
                                  send=kind == "feedback_send")
            left = [d.description for d in open_stages(case)]
            if given.outbox_id is not None:
                session.commit()  # sent only once it is kept with the case
                tasks.add_task(sending.deliver_many, app.sessions, app.transports,
                               [given.outbox_id], app.clock(), app.delivery_policy)
            done = ("Återkopplingen är skickad till avsändaren. " if given.outbox_id else
                    "Återkoppling registrerad. ")
            if left:
                return done + "Kvar att ge: " + "; ".join(left) + "."
            if case_view.assessment_open(case):
                return done + ("Bedömningen av en möjlig allvarlig händelse återstår; "
                               "markera den när den är gjord.")
            return done + "Påminnelserna upphör."
        if kind == "close":
            close_case(session, case.id, note, actor, now)
            return "Ärendet är avslutat."
        if kind == "assessed":
            lifecycle.record_assessment(session, case.id, note, actor, now)
            return "Bedömningen är registrerad."
        audit.record(session, actor, "case.note", case_id=case.id, at=now, note=note)
        return "Anteckningen är sparad."

    @routes.post("/cases/{case_id}/fel-enhet")
    def return_case(session: Db, me: Who, case_id: RowId,
                    note: Annotated[str, Form(min_length=1, max_length=2_000)],
                    csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        """The chef of the case's enhet: "not ours" — back to the registrator's
        review queue with a note saying why (open cases only)."""
        check_csrf(me, csrf)
        case = _visible_case(session, me, case_id)
        require(may_return_case(me.person, case.enhet))
        words = Words(app.kommun)
        explanation = (f"Chefen för {words.enhet(case.enhet)} ({me.person.email}) lämnade "
                       f"tillbaka ärendet till {REGISTRATOR_WORD}: {note.strip()}")
        try:
            lifecycle.return_to_registrator(session, case.id, note.strip(), me.person.actor,
                                            app.clock(), REGISTRATOR, explanation)
        except CaseClosedError as exc:
            return see_other(f"/cases/{case.id}?klart={exc}")
        return see_other("/enhet?klart=Ärendet " + case.diarienummer
                         + " är tillbaka hos registratorn.")

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
