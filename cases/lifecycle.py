"""The case state machine: every change of a case's status, and of the
labels a person confirms or corrects, is written here with its event.

    open ──record_feedback──> feedback_given ──close_case──> closed
    open ──close_case──> closed

Återkoppling given, or the case closed, meets every open deadline and so
stops the reminders. ``correct`` records the registrator's labels (category,
enhet, flags): the case leaves review, and the labels become a labelled
example for ``synpunkt train``.
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


def record_feedback(session: Session, case_id: int, note: str, actor: str,
                    now: datetime, stage: str | None = None) -> Case:
    """The sender has had återkoppling for one stage of the case (Nacka: a
    first återkoppling within 5 arbetsdagar, besked om vad vi har gjort
    within 10). ``stage``: that deadline's kind, and every open stage due
    before it is met with it (a final answer includes the first); without
    it, the earliest open stage. The case has had its återkoppling when no
    stage is left open; then the verksamhet's own deadlines are met too."""
    case = _case(session, case_id)
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
    if len(met) == len(stages):  # the last stage: återkoppling given in full
        met = open_
    for d in met:
        d.met_at = now
    if len(met) == len(open_) and case.status == CaseStatus.OPEN:
        case.status = CaseStatus.FEEDBACK_GIVEN
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
    """A person's labels for the case; returns what changed (empty: confirmed)."""
    chosen = sorted(set(flags))
    changes: dict[str, list[object]] = {k: [old, new] for k, old, new in (
        ("category", case.category, category), ("enhet", case.enhet, enhet),
        ("flags", sorted(case.flags), chosen)) if old != new}
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


def close_case(session: Session, case_id: int, note: str, actor: str, now: datetime) -> Case:
    case = _case(session, case_id)
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
