"""What every inbound message that becomes a case, or joins one, goes
through: registration with receipt and notices, or threading as a reply.
Shared by the e-mail and the SMS intake; runs in the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cases import audit
from cases.inbound import finish, mark, record_finish
from cases.models import Case, Inbound, InboundStatus
from cases.register import Registered, give_diarienummer, open_case
from classify.compilation import Compilation
from classify.compilation import recognise as recognise_compilation
from classify.triage import Triage
from config.organisation import REGISTRATOR
from config.routines import COMPILATION
from deadlines.calendar import STOCKHOLM
from deadlines.routine import Deadline
from ingest.lookalike import lookalike_warning
from ingest.message import Channel, Message
from notify.digest import HANDOVER, can_wait_for_digest
from notify.notices import CaseFacts, render_notices
from notify.outbox import queue_mail, queue_sms, recent_automatic
from notify.receipt import render_receipt
from notify.sms import render_sms_receipt
from routing.decision import Decision
from service.app import App
from service.feedback import answer_to_reply

log = logging.getLogger(__name__)
ACTOR = "system:ingest"
COMPILATION_RULE = "utforare-sammanstallning"


@dataclass(frozen=True, slots=True)
class Outcome:
    inbound_id: int
    status: str
    reason: str | None = None
    case_id: int | None = None
    diarienummer: str | None = None
    threaded: bool = False
    receipt_outbox_id: int | None = None
    notice_outbox_ids: tuple[int, ...] = ()  # notices to chefs and others told
    # An SMS whose sender may still be typing: take it up again at this time.
    waiting_until: datetime | None = None

    @property
    def outbox_ids(self) -> tuple[int, ...]:
        """Every mail this message queued, to be delivered once committed."""
        receipt = () if self.receipt_outbox_id is None else (self.receipt_outbox_id,)
        return receipt + self.notice_outbox_ids


def thread_reply(app: App, session: Session, rows: list[Inbound], case: Case, text: str,
                 sender_matches: bool) -> Outcome:
    """The message is a reply to ``case``: kept with it, no new case, no
    receipt. A reply saying the återkoppling did not satisfy is marked, and
    the next chef up told where the routine says so (service.feedback)."""
    for row in rows:
        audit.record(session, ACTOR, "case.reply_received", case_id=case.id,
                     inbound_id=row.id, sender_matches=sender_matches)
        row.case_id = case.id
        finish(session, row, InboundStatus.PROCESSED, None)
    told = answer_to_reply(app, session, case, text) if sender_matches else None
    return Outcome(rows[0].id, InboundStatus.PROCESSED, None, case.id, case.diarienummer, True,
                   notice_outbox_ids=(told,) if told is not None else ())


def register_message(app: App, session: Session, rows: list[Inbound],
                     message: Message) -> Outcome:
    """Classify, route and register ``message`` (stored as ``rows``: one mail,
    or the texts of one SMS), queueing its mottagningsbevis and notices.

    Everything that does not need the diarienummer is written first; the
    number is taken last (its series row stays locked until commit), then
    the receipt and the notices that carry it are rendered and queued."""
    return complete_registration(app, session, open_registration(app, session, rows, message))


@dataclass(frozen=True, slots=True)
class Opened:
    """A message's case, added under its provisional number and waiting for
    its diarienummer (``complete_registration``)."""
    rows: tuple[Inbound, ...]
    message: Message
    triage: Triage
    decision: Decision
    registered: Registered
    now: datetime
    # Automatic mail the sender had within the limit's window; None: not
    # counted yet (a batch counts for all its senders in one statement).
    sent_recently: int | None

    @property
    def year(self) -> int:
        """The year of the series its number is taken from."""
        return self.now.astimezone(STOCKHOLM).year


def open_registration(app: App, session: Session, rows: list[Inbound],
                      message: Message, *, count_sent: bool = True) -> Opened:
    """The part of registering ``message`` that needs no diarienummer:
    classified, routed, its case added (written with the next flush); with
    ``count_sent``, the automatic mail its sender had lately counted."""
    org = app.kommun.organisation
    now = app.clock()
    triage = app.classifier.classify(message)
    decision = app.router.route(message, triage)
    compilation = recognise_compilation(message, org)
    if compilation is not None:
        triage, decision = filed_as_compilation(triage, decision, compilation)
    registered = open_case(session, app.kommun, message, triage, decision,
                           inbound_id=rows[0].id, received_at=rows[0].received_at, now=now)
    for part in rows:
        part.case = registered.case
        mark(part, InboundStatus.PROCESSED, None)
    sent_recently = (None if not count_sent else 0 if message.sender is None
                     else recent_automatic(session, message.sender,
                                           now - app.auto_reply_limit.window))
    return Opened(tuple(rows), message, triage, decision, registered, now, sent_recently)


def complete_registration(app: App, session: Session, opened: Opened,
                          number: tuple[str, int] | None = None) -> Outcome:
    """Give the opened case its diarienummer (``number``: the one its batch
    took for it), then queue the mottagningsbevis and the notices."""
    org = app.kommun.organisation
    message, triage, registered, now = opened.message, opened.triage, opened.registered, opened.now
    case, row = registered.case, opened.rows[0]
    give_diarienummer(session, app.kommun, registered, triage, opened.decision, now,
                      number)  # without a number: locks the series

    warning = lookalike_warning(message.sender, message.display_name, org.kommun.doman,
                                org.kommun.namn) if message.channel == Channel.EMAIL else None
    if warning is not None:  # shown in the case's timeline as a note
        audit.record(session, ACTOR, "case.note", case_id=case.id, note=warning)
    extern = org.extern(case.extern) if case.extern else None
    if message.forwarded_by is not None:  # staff forwarded a citizen's mail: said on the case
        audit.record(session, ACTOR, "case.note", case_id=case.id,
                     note=f"Vidarebefordrat av {message.forwarded_by}"
                          + (f": {message.forward_note[:2000]}" if message.forward_note else ""))
    queued = None
    if message.sender is not None and message.answer_by == "email":
        enhet = org.enhet(case.enhet) if not (case.needs_review or case.extern) else None
        receipt = render_receipt(app.kommun, message, case.diarienummer, registered.deadlines,
                                 now, extern, case.flags, case.category,
                                 enhet.utforare.namn if enhet and enhet.utforare else None,
                                 enhet.namn if enhet else None)
        queued = queue_mail(session, receipt, kind="mottagningsbevis",
                            dedupe_key=f"mottagningsbevis:case:{case.id}", case_id=case.id,
                            limit=app.auto_reply_limit, now=now, sent_recently=opened.sent_recently)
    elif message.sender is not None and message.answer_by == "sms":
        sms = render_sms_receipt(app.kommun, message.sender, case.diarienummer,
                                 registered.deadlines, extern, case.flags, message.channel,
                                 case.category)
        queued = queue_sms(session, sms, kind="mottagningsbevis",
                           dedupe_key=f"mottagningsbevis:case:{case.id}", case_id=case.id,
                           limit=app.auto_reply_limit, now=now, sent_recently=opened.sent_recently)
    decision = replace(opened.decision, notify=with_routine_roles(app, case,
                                                                  opened.decision.notify,
                                                                  at_once_only=True))
    at_once = chef_told_at_once(app, case, decision.notify, registered.deadlines, now)
    notices = queue_notices(app, session, case, decision, registered.deadlines, now,
                            chef=at_once)
    tell_in_digest(app, session, case, ACTOR, now, chef=not at_once)
    for part in opened.rows:  # the rows were marked processed when the case was opened
        record_finish(session, part)
    log.info("case registered inbound_id=%s case_id=%s parts=%s", row.id, case.id,
             len(opened.rows))
    return Outcome(row.id, row.status, None, case.id, case.diarienummer, False,
                   queued, notices)


def filed_as_compilation(triage: Triage, decision: Decision,
                         compilation: Compilation) -> tuple[Triage, Decision]:
    """An utförare's yearly compilation goes to the chef of the enhet it runs,
    as what it is: no category, no flags its list of complaints may raise
    (an incident it reports was handled in its year), nothing to review."""
    return (replace(triage, category=None, flags=frozenset(), extern=None, needs_review=False,
                    review_reasons=()),
            replace(decision, enhet=compilation.enhet, extern=None, rule=COMPILATION_RULE,
                    explanation=compilation.explanation, needs_review=False, notify=(),
                    priority="normal", flags=frozenset({COMPILATION})))


def with_routine_roles(app: App, case: Case, notify: Sequence[str], *,
                       at_once_only: bool = False) -> tuple[str, ...]:
    """``notify`` and the roles the case's routine tells (the sektorchef,
    the kontaktperson, the MAS...) once the case is with an enhet here;
    with ``at_once_only``, only those the routine tells as the case comes
    (``kännedom: direkt``, or a possible serious incident): the others read
    of it in their morning digest."""
    if case.enhet == REGISTRATOR or case.extern:
        return tuple(notify)
    routines = app.kommun.routines
    told = (routines.told_at_once(case.routine, case.category, case.flags, _urgent(case))
            if at_once_only else routines.told(case.routine, case.category, case.flags))
    return tuple(dict.fromkeys((*notify, *told)))


def tell_in_digest(app: App, session: Session, case: Case, actor: str, now: datetime, *,
                   chef: bool) -> None:
    """Record who reads of the new case in their next morning digest (the
    digest reads this event): the roles its routine tells there, and with
    ``chef`` the enhet's chef, to whom it is handed over there."""
    if case.enhet == REGISTRATOR or case.extern:
        return
    roles = ((HANDOVER,) if chef else ()) + app.kommun.routines.told_in_digest(
        case.routine, case.category, case.flags, _urgent(case))
    if roles:
        audit.record(session, actor, "case.told_in_digest", case_id=case.id, at=now,
                     roles=list(roles))


def chef_told_at_once(app: App, case: Case, notify: Sequence[str],
                      deadlines: Sequence[Deadline], now: datetime) -> bool:
    """Whether the chef of the case's enhet gets a notice as it is registered
    rather than in the next morning digest (``till_chefen``): at once under
    a routine that says `direkt`, for a possible serious incident, for an
    enhet an enskild utförare runs (the chef forwards it with a date), when a
    rule names the chef, and when the first deadline is too near to wait."""
    if case.enhet == REGISTRATOR or case.extern or HANDOVER in notify or _urgent(case):
        return True
    routine = app.kommun.routines.profiler.get(case.routine or "")
    enhet = app.kommun.organisation.enhet(case.enhet)
    if routine is None or routine.till_chefen == "direkt" or (
            enhet is not None and enhet.utforare is not None):
        return True
    first = min((d.due for d in deadlines), default=None)
    return not can_wait_for_digest(now, first, routine.paminnelse_arbetsdagar)


def _urgent(case: Case) -> bool:
    return case.priority == "akut" or "allvarlig_handelse" in case.flags


def queue_notices(app: App, session: Session, case: Case, decision: Decision,
                  deadlines: Sequence[Deadline], now: datetime,
                  occasion: str | None = None, *, chef: bool = True) -> tuple[int, ...]:
    """The notices to the chef (unless ``chef`` is False: handed over in the
    digest) and the others ``decision`` tells, queued with the case.
    ``occasion`` sets a later round apart (a case moved to another enhet:
    its chef hears of it even if that chef was told once before)."""
    facts = CaseFacts(case.diarienummer, case.category, frozenset(case.flags), case.subject,
                      case.text, received_at_local(case.received_at), tuple(deadlines),
                      app.case_url(case.id), case.diarieford)
    queued = []
    for notice in render_notices(app.kommun, facts, decision, now, chef=chef):
        key = f"underrattelse:case:{case.id}:{notice.recipient}"
        outbox_id = queue_mail(session, notice, kind="underrattelse",
                               dedupe_key=f"{key}:{occasion}" if occasion else key,
                               case_id=case.id, limit=app.auto_reply_limit, now=now)
        if outbox_id is not None:
            queued.append(outbox_id)
    return tuple(queued)


def received_at_local(received: datetime) -> datetime:
    aware = received if received.tzinfo else received.replace(tzinfo=UTC)
    return aware.astimezone(STOCKHOLM)
