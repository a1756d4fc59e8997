"""The original of a de-identified case (Nacka: "avidentifieras vid
registreringen"; the personal data kept apart): read only by those who
handle the case, and every reading is an event on the case."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from cases import audit
from cases.models import Case, Inbound
from ingest import by_hand
from ingest.by_hand import BY_HAND
from ingest.message import Channel, Message
from ingest.parse import parse
from ingest.sms import record as sms_record
from review import views
from review.access import may_handle_case
from review.web import Db, RowId, Who, render, require
from service.app import App

UNREADABLE = "(originalet gick inte att läsa)"


def router(app: App) -> APIRouter:
    routes = APIRouter()

    @routes.get("/cases/{case_id}/original")
    def original(request: Request, session: Db, me: Who, case_id: RowId) -> Response:
        case = session.get(Case, case_id)
        if case is None:
            raise HTTPException(status_code=404, detail="ärendet finns inte")
        require(may_handle_case(me.person, case.enhet))
        row = session.get(Inbound, case.inbound_id) if case.inbound_id else None
        if row is None:
            raise HTTPException(status_code=404, detail="originalet finns inte kvar")
        audit.record(session, me.person.actor, "case.original_read", case_id=case.id,
                     at=app.clock())
        return render(request, app, "original.html", me, case=case,
                      text=_text(row, app), received=views.local(case.received_at))

    return routes


def _text(row: Inbound, app: App) -> str:
    """The message as it came: a mail's text, an SMS's or a written-down
    entry's, read by the same functions the pipeline reads them with."""
    if row.channel in BY_HAND:
        entry = by_hand.from_raw(row.raw)
        return entry.text if isinstance(entry, by_hand.Entry) else UNREADABLE
    if row.channel == Channel.SMS:
        record = sms_record.from_raw(row.raw)
        return record.text if isinstance(record, sms_record.SmsRecord) else UNREADABLE
    parsed = parse(row.raw, app.settings.limits)
    return parsed.text if isinstance(parsed, Message) else UNREADABLE
