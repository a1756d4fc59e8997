"""A handläggare assigned to a case. Essunga (003): the registrator sends "en
bekräftelse inom 5 arbetsdagar med namn och kontaktuppgifter till
handläggaren" and copies the handläggare. Assigning one sends that
bekräftelse to the citizen (meeting the routine's `bekraftelse` stage, where
it has one) and tells the handläggare."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cases import audit, lifecycle
from cases.models import Case
from config.errors import PermanentError
from notify.feedback import confirmation_text, render_confirmation_mail, render_feedback_sms
from notify.notices import case_note, message_copy
from notify.outbox import queue_mail, queue_sms
from service.app import App

STAGE = "bekraftelse"


class NotAHandlerError(PermanentError, ValueError):
    """The person is not one who may handle the case's enhet."""


@dataclass(frozen=True, slots=True)
class Assigned:
    case: Case
    outbox_ids: tuple[int, ...]  # the bekräftelse to the citizen, the handläggare's notice


def assign(app: App, session: Session, case: Case, handler_email: str, actor: str) -> Assigned:
    """Raises CaseClosedError for a closed case, NotAHandlerError for someone
    who does not handle the case's enhet."""
    lifecycle.require_allowed(case, "assign")
    org = app.kommun.organisation
    enhet = org.enhet(case.enhet)
    handler = next((p for p in enhet.handlers() if p.epost == handler_email.lower()),
                   None) if enhet is not None else None
    if enhet is None or handler is None:
        raise NotAHandlerError(f"{handler_email} handlägger inte ärenden för "
                               f"{enhet.namn if enhet is not None else case.enhet}")
    now = app.clock()
    audit.record(session, actor, "case.assigned", case_id=case.id, at=now, handler=handler.epost)
    queued: list[int | None] = []
    contact = case.contact
    stage_open = any(d.kind == STAGE and d.met_at is None for d in case.deadlines)
    if stage_open and contact is not None and (contact.email or contact.phone):
        key = f"bekraftelse:case:{case.id}:{now.isoformat()}"
        if contact.email:
            queued.append(queue_mail(session, render_confirmation_mail(
                app.kommun, case.diarienummer, contact.email, contact.name, handler, enhet.namn,
                now), kind="bekraftelse", dedupe_key=key, case_id=case.id,
                limit=app.auto_reply_limit, now=now))
        else:
            queued.append(queue_sms(session, render_feedback_sms(
                app.kommun, case.diarienummer, str(contact.phone),
                confirmation_text(case.diarienummer, handler, enhet.namn)), kind="bekraftelse",
                dedupe_key=key, case_id=case.id, limit=app.auto_reply_limit, now=now))
        lifecycle.record_feedback(session, case.id, confirmation_text(
            case.diarienummer, handler, enhet.namn), actor, now, STAGE)
    note = case_note(app.kommun, handler, f"Du handlägger ärende {case.diarienummer}",
                     [f"Du är handläggare för ärende {case.diarienummer} ({enhet.namn}). "
                      "Här är en kopia av synpunkten.", "",
                      *message_copy(case.subject, case.text, case.flags)],
                     app.case_url(case.id) or f"synpunkt cases show {case.id}", now)
    queued.append(queue_mail(session, note, kind="underrattelse", case_id=case.id, now=now,
                             dedupe_key=f"handlaggare:case:{case.id}:{handler.epost}:"
                                        f"{now.isoformat()}", limit=app.auto_reply_limit))
    return Assigned(case, tuple(i for i in queued if i is not None))
