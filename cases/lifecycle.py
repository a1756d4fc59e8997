"""The case state machine: every change of a case's status, and of the
labels a person confirms or corrects, is written here with its event.

    open ──record_feedback──> feedback_given ──close_case──> closed
    open ──close_case──> closed

Återkoppling given meets the återkoppling stages; the verksamhet's own
deadline (the same-day assessment of a possible serious incident) is met
only by ``record_assessment`` or by closing the case. Closing meets every
open deadline and so stops the reminders. ``correct`` records the
registrator's labels (category, enhet, flags): the case leaves review, and
the labels become a labelled example for ``synpunkt train``.
``return_to_registrator``: the chef sends a misrouted case back to review.

What each status allows (``allowed``): a closed case takes no återkoppling,
no second close, no move, no assessment and is not returned; the server
refuses with ``CaseClosedError`` (a Swedish message), whatever the page shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.models import Case, CaseStatus, Deadline, Event
from config.errors import PermanentError
from deadlines import routine as frister

# Deadlines that are the verksamhet's own, not a stage of återkoppling: the
# same-day assessment of a possible serious incident (cases.register).
INTERNAL_KINDS = frozenset({"allvarlig_bedomning"})


class CaseNotFoundError(PermanentError, LookupError):
    """No case with that id."""


class NoSuchStageError(PermanentError, ValueError):
    """The named deadline is not an open stage of the case."""


class CaseClosedError(PermanentError, ValueError):
    """The action does not apply to the case in its status; says why in Swedish."""


# What a person may do with a case in each status (the case page shows only these).
ACTIONS: dict[str, frozenset[str]] = {
    CaseStatus.OPEN: frozenset({"note", "feedback", "close", "correct", "move", "assign",
                                "assess", "return"}),
    CaseStatus.FEEDBACK_GIVEN: frozenset({"note", "feedback", "close", "correct", "move",
                                          "assign", "assess", "return"}),
    CaseStatus.CLOSED: frozenset({"note", "correct"}),
}
_REFUSED = {
    "feedback": "Ärendet är avslutat: återkoppling kan inte registreras på ett avslutat ärende.",
    "close": "Ärendet är redan avslutat.",
    "move": "Ärendet är avslutat: det kan inte flyttas till en annan enhet.",
    "assign": "Ärendet är avslutat: det får ingen ny handläggare.",
    "assess": "Ärendet är avslutat: bedömningen kan inte registreras.",
    "return": "Ärendet är avslutat: det kan inte lämnas tillbaka till registratorn.",
}


def allowed(case: Case, action: str) -> bool:
    """May ``action`` (a key of ACTIONS) be done with the case in its status?"""
    return action in ACTIONS.get(case.status, frozenset())


def require_allowed(case: Case, action: str) -> None:
    """Raise CaseClosedError unless the action applies to the case's status."""
    if not allowed(case, action):
        raise CaseClosedError(_REFUSED.get(action, "Det går inte med ärendet i den här statusen."))


def record_feedback(session: Session, case_id: int, note: str, actor: str,
                    now: datetime, stage: str | None = None) -> Case:
    """The sender has had återkoppling for one stage of the case (Nacka: a
    first återkoppling within 5 arbetsdagar, besked om vad vi har gjort
    within 10). ``stage``: that deadline's kind, and every open stage due
    before it is met with it (a final answer includes the first); without
    it, the earliest open stage. The case has had its återkoppling when no
    stage is left open. The verksamhet's own deadlines (the same-day
    assessment of a possible lex Sarah/Maria matter) are not met by
    återkoppling: that is ``record_assessment``. A closed case refuses."""
    case = _case(session, case_id)
    require_allowed(case, "feedback")
    open_ = _open(session, case)
    stages = [d for d in open_ if d.kind not in INTERNAL_KINDS]
    if stage is not None and stage not in {d.kind for d in stages}:
        known = ", ".join(d.kind for d in stages) or "inga"
        raise NoSuchStageError(f"ärendet har ingen öppen frist {stage!r} (öppna: {known})")
    if stages:
        last = (next(d for d in stages if d.kind == stage).due if stage is not None
                else min(d.due for d in stages))
        met = [d for d in stages if d.due <= last]
    else:
        met = []
    for d in met:
        d.met_at = now
    if len(met) == len(stages) and case.status == CaseStatus.OPEN:
        case.status = CaseStatus.FEEDBACK_GIVEN  # no stage of återkoppling left
    audit.record(session, actor, "case.feedback_given", case_id=case.id, at=now, note=note,
                 deadlines_met=[d.kind for d in met])
    return case


def open_stages(case: Case) -> list[Deadline]:
    """The case's återkoppling stages still open, earliest first (not the
    verksamhet's own deadlines such as the same-day assessment)."""
    return sorted((d for d in case.deadlines if d.met_at is None and d.kind not in INTERNAL_KINDS),
                  key=lambda d: d.due)


def feedback_given(session: Session, case: Case) -> bool:
    """Has the sender had (some) återkoppling on the case?"""
    return session.scalar(select(Event.id).where(
        Event.case_id == case.id, Event.kind == "case.feedback_given").limit(1)) is not None


def correct(session: Session, case: Case, category: str, enhet: str, flags: list[str],
            actor: str, now: datetime) -> dict[str, list[object]]:
    """A person's labels for the case; returns what changed (empty: confirmed).
    A closed case keeps its enhet (its labels may still be put right)."""
    if case.enhet != enhet:
        require_allowed(case, "move")
    chosen = sorted(set(flags))
    changes: dict[str, list[object]] = {k: [old, new] for k, old, new in (
        ("category", case.category, category), ("enhet", case.enhet, enhet),
        ("flags", sorted(case.flags), chosen)) if old != new}
    if case.extern is not None and "extern" not in chosen:
        # No longer another authority's matter: nobody is referred anywhere.
        changes["extern"] = [case.extern, None]
        case.extern = None
    case.category, case.enhet, case.flags = category, enhet, chosen
    case.restricted = case.restricted or "sekretess" in chosen
    case.needs_review = False
    audit.record(session, actor, "case.corrected" if changes else "case.confirmed",
                 case_id=case.id, at=now, changes=changes,
                 labels={"category": category, "enhet": enhet, "flags": chosen})
    return changes


def reschedule(session: Session, case: Case, routine_id: str,
               deadlines: Sequence[frister.Deadline], actor: str, now: datetime) -> list[str]:
    """The case moved to an enhet with another routine: its open stages are
    replaced by the new routine's (counted from when it was received); met
    stages and the verksamhet's own deadlines stay. Returns the new kinds."""
    old = case.routine
    met = set()
    for d in list(case.deadlines):
        if d.met_at is not None or d.kind in INTERNAL_KINDS:
            met.add(d.kind)
        else:
            session.delete(d)
    session.flush()
    added = [new for new in deadlines if new.kind not in met]
    for new in added:
        session.add(Deadline(case_id=case.id, kind=new.kind, due=new.due,
                             description=new.description, promised=new.promised))
    case.routine = routine_id
    audit.record(session, actor, "case.rescheduled", case_id=case.id, at=now,
                 previous=old, routine=routine_id, deadlines=[new.kind for new in added])
    session.flush()
    session.expire(case, ["deadlines"])
    return [new.kind for new in added]


def record_assessment(session: Session, case_id: int, note: str, actor: str,
                      now: datetime) -> Case:
    """The chef has assessed a possible serious incident (lex Sarah, lex
    Maria): the verksamhet's own same-day deadline is met; nothing else."""
    case = _case(session, case_id)
    require_allowed(case, "assess")
    internal = [d for d in _open(session, case) if d.kind in INTERNAL_KINDS]
    if not internal:
        raise NoSuchStageError("ärendet har ingen öppen bedömning av en allvarlig händelse")
    for d in internal:
        d.met_at = now
    audit.record(session, actor, "case.assessed", case_id=case.id, at=now, note=note,
                 deadlines_met=[d.kind for d in internal])
    return case


def return_to_registrator(session: Session, case_id: int, note: str, actor: str,
                          now: datetime, registrator: str, explanation: str) -> Case:
    """The chef finds the case is not the enhet's ("fel enhet"): it goes back
    to the registrator's review queue (``registrator``: that queue's enhet)
    with the chef's note; ``explanation`` is what "Varför hit?" says now."""
    case = _case(session, case_id)
    require_allowed(case, "return")
    previous = case.enhet
    case.enhet, case.needs_review, case.rule = registrator, True, None
    case.explanation = explanation
    audit.record(session, actor, "case.returned", case_id=case.id, at=now, note=note,
                 enhet=previous)
    return case


def close_case(session: Session, case_id: int, note: str, actor: str, now: datetime) -> Case:
    case = _case(session, case_id)
    require_allowed(case, "close")
    met = _meet_deadlines(session, case, now)
    case.status = CaseStatus.CLOSED
    audit.record(session, actor, "case.closed", case_id=case.id, at=now, note=note,
                 deadlines_met=met)
    return case


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise CaseNotFoundError(case_id)
    return case


def _open(session: Session, case: Case) -> list[Deadline]:
    return list(session.scalars(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.met_at.is_(None)).order_by(Deadline.due)))


def _meet_deadlines(session: Session, case: Case, now: datetime) -> list[str]:
    open_ = _open(session, case)
    for d in open_:
        d.met_at = now
    return [d.kind for d in open_]


def record_delay_reason(session: Session, case_id: int, reason: str, actor: str,
                        now: datetime) -> Case:
    """Why the case takes longer: the next delay notice to the sender says so."""
    case = _case(session, case_id)
    audit.record(session, actor, "case.delay_reason", case_id=case.id, at=now, reason=reason)
    return case


def delay_reason(session: Session, case_id: int) -> str | None:
    """The latest reason recorded for a delay, if any."""
    event = session.scalar(select(Event).where(
        Event.case_id == case_id, Event.kind == "case.delay_reason").order_by(Event.id.desc()))
    return str(event.detail.get("reason")) if event is not None else None
