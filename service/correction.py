"""The registrator confirms or corrects a case's labels; a case moved to
another enhet is told to that enhet's chef the way intake tells the first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases import lifecycle
from cases.models import Case
from cases.register import case_deadlines
from config.organisation import REGISTRATOR
from deadlines.routine import Deadline
from routing.decision import Decision
from service.app import App
from service.intake import queue_notices, received_at_local, with_routine_roles


def correct_case(app: App, session: Session, case: Case, category: str, enhet: str,
                 flags: list[str], actor: str, who: str) -> dict[str, list[object]]:
    """Write the labels (``cases.lifecycle.correct``); returns what changed."""
    now = app.clock()
    changes = lifecycle.correct(session, case, category, enhet, flags, actor, now)
    moved = "enhet" in changes and enhet != REGISTRATOR
    if moved:
        _reschedule(app, session, case, actor, now)
    if moved or "category" in changes or "flags" in changes:
        # The new enhet's chef and everyone its routine names hear of it (a
        # case the registrator sorts by hand is told as intake tells one);
        # only labels changed: those newly named (a klagomål now: the MAS),
        # each person's notice once, however often the labels change.
        decision = Decision(enhet=case.enhet, extern=case.extern, rule=None,
                            explanation=f"registratorn ({who}) flyttade ärendet hit" if moved
                            else f"registratorn ({who}) rättade ärendet",
                            needs_review=False, rules_version=case.rules_version or "",
                            notify=with_routine_roles(app, case, ()), priority=case.priority)
        due = [Deadline(d.kind, d.due, d.description, d.promised) for d in case.deadlines
               if d.met_at is None]
        queue_notices(app, session, case, decision, due, now,
                      occasion=now.isoformat() if moved else None)
    return changes


def _reschedule(app: App, session: Session, case: Case, actor: str, now: datetime) -> None:
    """The routine of the enhet the case moved to, and its deadlines."""
    kommun = app.kommun
    routine_id, _routine = kommun.routines.choose(
        None, case.enhet, kommun.organisation.forvaltning_of(case.enhet))
    if routine_id == case.routine:
        return
    due = case_deadlines(kommun, routine_id, received_at_local(case.received_at),
                         case.contact is not None, case.category, case.flags, case.extern)
    lifecycle.reschedule(session, case, routine_id, due, actor, now)
