"""Reading a set-aside message in the browser: a quarantined or ignored
inbound row shown the way the case page shows a case's original (HTML
through the same allowlist, attachments named, never opened), with why it
was set aside in words, and the way to release it to become a case (POST
/inbound/{id}/reprocess, the same as `synpunkt inbound release`)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request, Response
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from cases import audit
from cases.models import Inbound, InboundStatus
from config.settings import Limits
from config.words import SET_ASIDE_REASON, Words
from ingest.bounded import too_large
from ingest.message import Message
from ingest.parse import html_body, parse
from review import case_view
from review.access import may_correct
from review.original import safe_html
from review.views import local
from review.web import Db, RowId, Who, render, require
from service.app import App

SHOWN_RAW = 200_000  # characters of an unparsable message shown as text
SET_ASIDE = (InboundStatus.IGNORED, InboundStatus.QUARANTINED)


@dataclass(frozen=True, slots=True)
class Shown:
    """A set-aside message as the page shows it."""

    sender: str | None
    subject: str
    text: str
    html: Markup | None
    attachments: list[tuple[str, int]]
    note: str | None  # why the content is not shown as a mail, if it is not


def reason_words(reason: str | None) -> tuple[str, str]:
    """(heading, explanation) of a row's reason "code: Swedish text"."""
    code, _, said = (reason or "").partition(": ")
    if not said:
        return "", code
    return SET_ASIDE_REASON.get(code, ""), said


def router(app: App) -> APIRouter:
    routes = APIRouter()

    @routes.get("/inbound/{inbound_id}")
    def inbound_page(request: Request, session: Db, me: Who, inbound_id: RowId) -> Response:
        """The registrator reads a quarantined or ignored message (logged)."""
        require(may_correct(me.person))
        row = session.get(Inbound, inbound_id, options=[defer(Inbound.raw)])
        if row is None:
            raise HTTPException(status_code=404, detail="meddelandet finns inte")
        if row.status not in SET_ASIDE:
            raise HTTPException(status_code=404, detail=(
                "meddelandet är inte ignorerat eller i karantän"
                + (f"; det blev ärende nr {row.case_id}" if row.case_id else "")))
        shown = _shown(session, row, app.settings.limits)
        audit.record(session, me.person.actor, "inbound.read", inbound_id=row.id,
                     at=app.clock())
        heading, said = reason_words(row.reason)
        words = Words(app.kommun)
        return render(request, app, "inbound.html", me, nav="inkorg", row=row, shown=shown,
                      received=local(row.received_at), zone_note=case_view.ZONE_NOTE,
                      status=words.inbound_status(row.status), channel=words.channel(row.channel),
                      reason_heading=heading, reason=said,
                      ignored=row.status == InboundStatus.IGNORED)

    return routes


def _shown(session: Session, row: Inbound, limits: Limits) -> Shown:
    size = session.scalar(select(func.length(Inbound.raw)).where(Inbound.id == row.id)) or 0
    refused = too_large(size, limits)
    if refused is not None:
        return Shown(row.sender, "", "", None, [], f"Meddelandet är för stort för att visas "
                     f"här ({refused.detail}).")
    raw = session.scalar(select(Inbound.raw).where(Inbound.id == row.id)) or b""
    if not raw:
        return Shown(row.sender, "", "", None, [], "Innehållet finns inte kvar (gallrat).")
    if row.channel in ("email", "webform"):
        parsed = parse(raw, limits)
        if isinstance(parsed, Message):
            html = html_body(raw)
            return Shown(parsed.sender or row.sender, parsed.subject, parsed.text,
                         safe_html(html, True) if html else None,
                         [(a.filename, a.size) for a in parsed.attachments], None)
    text = raw.decode("utf-8", errors="replace")
    note = ("Meddelandet kunde inte tolkas som ett brev; här är det som text." if
            row.channel in ("email", "webform") else None)
    return Shown(row.sender, "", text[:SHOWN_RAW], None, [], note)
