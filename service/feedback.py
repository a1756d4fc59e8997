"""Återkoppling sent from Synpunkt: the chef (or the registrator) writes it
on the case, it goes to the citizen on the case's channel, is kept with the
case (the event's note and the outbox row) and meets its deadline stage.

A reply to the case that says the person is not satisfied is marked on the
case, and where the routine says so (Söderköping: "hjälper ... till kontakt
med närmast högre chef"; Essunga likewise) the next chef up is told."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cases import audit, lifecycle
from cases.models import Case
from classify.cues import not_satisfied
from notify.feedback import render_feedback_mail, render_feedback_sms
from notify.notices import case_note
from notify.outbox import queue_mail, queue_sms
from service.app import App


@dataclass(frozen=True, slots=True)
class Given:
    case: Case
    outbox_id: int | None  # the återkoppling sent to the citizen; None: no contact


def give_feedback(app: App, session: Session, case_id: int, text: str, actor: str,
                  stage: str | None = None, send: bool = True) -> Given:
    """Record the återkoppling (``cases.lifecycle.record_feedback``) and, with
    ``send``, queue it to the citizen. Raises NoSuchStageError for a stage
    that is not open; CaseNotFoundError for no such case."""
    now = app.clock()
    case = lifecycle.record_feedback(session, case_id, text, actor, now, stage)
    contact = case.contact
    if not send or contact is None or not (contact.email or contact.phone):
        return Given(case, None)
    key = f"aterkoppling:case:{case.id}:{now.isoformat()}"
    enhet = app.kommun.organisation.enhet(case.enhet)
    signed = enhet.namn if enhet is not None else ""
    if contact.email:
        mail = render_feedback_mail(app.kommun, case.diarienummer, contact.email,
                                    contact.name, text, signed, now)
        outbox_id = queue_mail(session, mail, kind="aterkoppling", dedupe_key=key,
                               case_id=case.id, limit=app.auto_reply_limit, now=now)
    else:
        sms = render_feedback_sms(app.kommun, case.diarienummer, str(contact.phone), text)
        outbox_id = queue_sms(session, sms, kind="aterkoppling", dedupe_key=key,
                              case_id=case.id, limit=app.auto_reply_limit, now=now)
    return Given(case, outbox_id)


def answer_to_reply(app: App, session: Session, case: Case, text: str) -> int | None:
    """A reply threaded into ``case``: when it says the person is not
    satisfied with the återkoppling given, mark it, and tell the next chef up
    where the routine says so. Returns the notice's outbox id, if one went."""
    if not lifecycle.feedback_given(session, case) or not not_satisfied(text):
        return None
    now = app.clock()
    org = app.kommun.organisation
    routine = app.kommun.routines.profiler.get(case.routine or "")
    up = org.next_chef_up(case.enhet)
    tell = routine is not None and routine.missnoje_till_narmaste_chef and up is not None
    audit.record(session, "system:ingest", "case.dissatisfied", case_id=case.id, at=now,
                 told=up.epost if tell and up else None)
    if not tell or up is None:
        return None
    mail = case_note(
        app.kommun, up, f"Inte nöjd med återkopplingen [{case.diarienummer}]",
        [f"Avsändaren i ärende {case.diarienummer} har svarat på återkopplingen och är "
         "inte nöjd. Enligt rutinen ska personen få hjälp att komma i kontakt med närmast "
         "högre chef, och det är du."],
        app.case_url(case.id) or f"synpunkt cases show {case.id}", now)
    return queue_mail(session, mail, kind="underrattelse", case_id=case.id, now=now,
                      dedupe_key=f"missnoje:case:{case.id}:{now.isoformat()}",
                      limit=app.auto_reply_limit)
