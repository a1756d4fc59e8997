"""Registering a case: case row, contact, deadlines, diarienummer, audit.

Runs inside the caller's transaction, so the case, its deadlines and its
mottagningsbevis in the outbox are committed together or not at all.

Two steps, because the diarienummer series is one locked row that every
registering transaction waits for: ``open_case`` adds the case under a
provisional number (never visible outside the transaction: it is replaced
before commit), with its contact and deadlines; ``give_diarienummer``
writes them and takes the real number as late as possible, so that the
lock is held only for what needs the number (the receipt and the notices)
and the commit. A batch registered in one transaction opens all its cases,
writes them together, takes their numbers in one block
(``diarium.allocate_block``) and writes those in one statement
(``write_numbers``), then hands each to ``give_diarienummer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from cases import audit, diarium
from cases.models import Case, Contact, Deadline, Outbox
from classify.deidentify import deidentify
from classify.triage import Triage
from config.kommun import Kommun
from deadlines import routine as frister
from deadlines.calendar import STOCKHOLM, receipt_day
from ingest.message import Message
from ingest.thread import ThreadRefs
from routing.decision import Decision

# Internal, not in the mottagningsbevis: the sender is promised återkoppling,
# the chef owes the assessment of a possible serious incident the same day.
SAME_DAY = frister.Deadline("allvarlig_bedomning", date.min,
                            "bedömning av en möjlig allvarlig händelse (lex Sarah, lex Maria)",
                            promised=False)


@dataclass(frozen=True, slots=True)
class Registered:
    case: Case
    deadlines: tuple[frister.Deadline, ...]
    # False for an anonymous case the routine only forwards to its enhet
    # (Hässelby-Vällingby): it gets a reference, not a diarienummer.
    diarieford: bool = True
    masked: dict[str, int] | None = None  # what was de-identified at registration (Nacka)


def open_case(
    session: Session,
    kommun: Kommun,
    message: Message,
    triage: Triage,
    decision: Decision,
    *,
    inbound_id: int,
    received_at: datetime,
    now: datetime,
) -> Registered:
    """Add the case, its contact and deadlines to ``session`` under a
    provisional number (year 0, number minus the inbound id: unique, and
    never committed); written with the next flush."""
    routine_id, routine = kommun.routines.choose(
        decision.routine, decision.enhet, kommun.organisation.forvaltning_of(decision.enhet))
    has_contact = message.sender is not None
    flags = decision.case_flags(triage)
    due = tuple(case_deadlines(kommun, routine_id, received_at, has_contact, triage.category,
                               flags, decision.extern))
    subject, text, masked = message.subject, message.text, None
    if routine.avidentifiera:  # Nacka: de-identified at registration
        names = (message.display_name,)
        subject = deidentify(subject, names).text
        found = deidentify(text, names)
        text, masked = found.text, found.masked
    case = Case(
        diarienummer=f"~{inbound_id}", year=0, number=-inbound_id, channel=message.channel,
        subject=subject, text=text, message_id=message.message_id,
        category=triage.category, enhet=decision.enhet, extern=decision.extern,
        flags=flags, aspects=sorted(triage.aspects),
        restricted="sekretess" in flags, priority=decision.priority,
        confidence=triage.confidence if triage.category else None,
        needs_review=decision.needs_review or triage.needs_review, rule=decision.rule,
        explanation=decision.explanation, rules_version=decision.rules_version,
        model_version=triage.model_version, language=triage.language,
        routine=routine_id, received_at=received_at, registered_at=now, inbound_id=inbound_id,
    )
    if has_contact:
        email = message.sender if message.answer_by == "email" else None
        phone = message.sender if message.answer_by == "sms" else None
        case.contact = Contact(name=message.display_name, email=email, phone=phone)
    rows = [Deadline(kind=d.kind, due=d.due, description=d.description, promised=d.promised)
            for d in due]
    if "allvarlig_handelse" in flags and not decision.extern:  # the chef assesses it today
        rows.append(Deadline(kind=SAME_DAY.kind, due=receipt_day(received_at),
                             description=SAME_DAY.description, promised=False))
    case.deadlines = rows
    session.add(case)
    return Registered(case, due, not kommun.routines.forwards_only(routine_id, has_contact),
                      masked)


def case_deadlines(kommun: Kommun, routine_id: str, received_at: datetime, has_contact: bool,
                   category: str | None, flags: Sequence[str],
                   extern: str | None) -> list[frister.Deadline]:
    """The deadlines a case gets under its routine. A case sent elsewhere
    (lotsad to its authority) keeps nothing running here; nor does a matter
    the routine excludes (Essunga: lex Sarah/Maria, appeals, felanmälan):
    registered, but outside the complaint routine; nor an anonymous case the
    routine only forwards (Hässelby-Vällingby)."""
    routine = kommun.routines.profiler[routine_id]
    if (extern or kommun.routines.excluded(routine_id, flags)
            or kommun.routines.forwards_only(routine_id, has_contact)):
        return []
    return frister.deadlines_for(routine, received_at, has_contact,
                                 frister.promises(category, flags))


# The numbers of a batch's cases, written in one statement (``write_numbers``).
_NUMBER = (update(Case).where(Case.id == bindparam("case_id"))
           .values(diarienummer=bindparam("new_diarienummer"), number=bindparam("new_number"),
                   year=bindparam("new_year")))


def write_numbers(session: Session, numbered: Sequence[tuple[Case, tuple[str, int], int]]
                  ) -> None:
    """Give a batch's written cases the diarienummer (and number and year) it
    took for them in its block, in one statement past the ORM's unit of work;
    each case object carries them as written. ``give_diarienummer`` then
    records each registration."""
    if not numbered:
        return
    session.connection().execute(_NUMBER, [
        {"case_id": case.id, "new_diarienummer": number[0], "new_number": number[1],
         "new_year": year}
        for case, number, year in numbered])
    for case, number, year in numbered:
        for key, value in (("diarienummer", number[0]), ("number", number[1]), ("year", year)):
            set_committed_value(case, key, value)


def give_diarienummer(session: Session, kommun: Kommun, registered: Registered,
                      triage: Triage, decision: Decision, now: datetime,
                      number: tuple[str, int] | None = None) -> str:
    """Take the case's diarienummer (the series row stays locked until the
    caller commits), or, given the ``number`` a batch took for it in its
    block and wrote (``write_numbers``), keep that; and record the
    registration."""
    case, due = registered.case, registered.deadlines
    if case.id is None or number is None:
        session.flush()  # all that waits is written before the series row is locked
    year = now.astimezone(STOCKHOLM).year
    if not registered.diarieford:  # a reference of its own, outside the series: no lock
        case.diarienummer, case.number = not_registered_reference(case.id), -case.id
        case.year = year
    elif number is not None:  # taken and written by the batch
        if (case.diarienummer, case.number, case.year) != (*number, year):
            raise ValueError(f"case {case.id}: its batch's number was not written")
    else:
        case.diarienummer, case.number = diarium.allocate(
            session, kommun.organisation.kommun.prefix, year)
        case.year = year
    if registered.masked is not None:
        audit.record(session, "system:ingest", "case.deidentified", case_id=case.id,
                     masked=registered.masked)
    audit.record(
        session, "system:ingest", "case.registered", case_id=case.id, inbound_id=case.inbound_id,
        at=now, diarienummer=case.diarienummer, enhet=case.enhet, category=case.category,
        rule=decision.rule, needs_review=case.needs_review, routine=case.routine,
        model_version=triage.model_version, confidence=case.confidence,
        flags=case.flags, review_reasons=list(triage.review_reasons),
        rules_version=decision.rules_version, notify=list(decision.notify),
        priority=decision.priority,
        deadlines={d.kind: d.due.isoformat() for d in due}, diarieford=registered.diarieford,
    )
    return case.diarienummer


NOT_REGISTERED = "Ej diarieförd"


def not_registered_reference(case_id: int) -> str:
    """What a case that is not diariefört is called: "Ej diarieförd 57"."""
    return f"{NOT_REGISTERED} {case_id}"


def filed_as(reference: str) -> str:
    """One Swedish sentence for the person who entered the case."""
    if reference.startswith(NOT_REGISTERED):
        return (f"Vidarebefordrat till enheten utan att diarieföras ({reference}): personen är "
                "anonym och rutinen säger så.")
    return f"Registrerat som {reference}."


def find_case(session: Session, refs: ThreadRefs) -> Case | None:
    """The case a reply belongs to: by diarienummer tag, else by a Message-ID
    we sent (or the case's own original Message-ID)."""
    for number in refs.diarienummer:
        case = session.scalar(select(Case).where(Case.diarienummer == number))
        if case is not None:
            return case
    if refs.message_ids:
        ids = list(refs.message_ids)
        case_id = session.scalar(
            select(Outbox.case_id).where(Outbox.message_id.in_(ids), Outbox.case_id.is_not(None))
        )
        if case_id is not None:
            return session.get(Case, case_id)
        return session.scalar(select(Case).where(Case.message_id.in_(ids)).order_by(Case.id))
    return None
