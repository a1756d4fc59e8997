"""The registrator confirms or corrects a case's labels; a case moved to
another enhet is told to that enhet's chef the way intake tells the first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases import lifecycle
from cases.lifecycle import INTERNAL_KINDS
from cases.models import Case, CaseStatus
from cases.register import case_deadlines
from config.organisation import REGISTRATOR
from config.words import REGISTRATOR_WORD, Words
from deadlines.routine import Deadline
from routing.decision import Decision
from service.app import App
from service.intake import (
    chef_told_at_once,
    queue_notices,
    received_at_local,
    tell_in_digest,
    with_routine_roles,
)


def correct_case(app: App, session: Session, case: Case, category: str, enhet: str,
                 flags: list[str], actor: str, who: str) -> dict[str, list[object]]:
    """Write the labels (``cases.lifecycle.correct``, which also drops the
    external instance with the `extern` flag) and everything derived from
    them, here and nowhere else: "Varför hit?" (the registrator's move, not
    the old rule), the routine and its deadlines, and the notices. Returns
    what changed. A closed case keeps its enhet (``CaseClosedError``); a case
    no longer open keeps its deadlines."""
    now = app.clock()
    previous_enhet = case.enhet
    changes = lifecycle.correct(session, case, category, enhet, flags, actor, now)
    moved = "enhet" in changes and enhet != REGISTRATOR
    if changes:
        words = Words(app.kommun)
        case.rule = None  # the registrator decided, not a rule
        case.explanation = (
            f"{REGISTRATOR_WORD.capitalize()} ({who}) flyttade ärendet hit från "
            f"{words.enhet(previous_enhet)}." if "enhet" in changes else
            f"{REGISTRATOR_WORD.capitalize()} ({who}) rättade ärendet: "
            + ", ".join(_CHANGED[k] for k in changes if k in _CHANGED) + ".")
    if case.status != CaseStatus.OPEN:
        # Återkoppling given or closed: the deadlines are met and stay so; no
        # correction reopens them, and nobody is notified anew.
        return changes
    if moved or "category" in changes or "flags" in changes:
        # The routine and its deadlines follow the labels: a case moved gets
        # its new enhet's routine; one now an appeal or another authority's
        # matter leaves the routine (no deadline, no delay notice runs); one
        # now a beröm is promised nothing.
        _reschedule(app, session, case, actor, now, moved)
        # The new enhet's chef and everyone its routine names hear of it (a
        # case the registrator sorts by hand is told as intake tells one);
        # only labels changed: those newly named (a klagomål now: the MAS),
        # each person's notice once, however often the labels change.
        decision = Decision(enhet=case.enhet, extern=case.extern, rule=None,
                            explanation=f"registratorn ({who}) flyttade ärendet hit" if moved
                            else f"registratorn ({who}) rättade ärendet",
                            needs_review=False, rules_version=case.rules_version or "",
                            notify=with_routine_roles(app, case, (), at_once_only=True),
                            priority=case.priority)
        due = [Deadline(d.kind, d.due, d.description, d.promised) for d in case.deadlines
               if d.met_at is None]
        # The chef as intake tells one (``till_chefen``); only labels changed:
        # a chef told before is not told again, unless the case is now urgent.
        at_once = chef_told_at_once(app, case, (), due, now)
        queue_notices(app, session, case, decision, due, now,
                      occasion=now.isoformat() if moved else None, chef=at_once)
        tell_in_digest(app, session, case, actor, now, chef=moved and not at_once)
    return changes


_CHANGED = {"category": "kategori", "flags": "flaggor", "extern": "hänvisning"}


def _reschedule(app: App, session: Session, case: Case, actor: str, now: datetime,
                moved: bool) -> None:
    """The routine of the enhet the case is with (if it moved), and the
    deadlines the routine gives a case with its labels now."""
    kommun = app.kommun
    routine_id = kommun.routines.choose(
        None, case.enhet, kommun.organisation.forvaltning_of(case.enhet))[0] if moved else (
        case.routine)
    due = case_deadlines(kommun, routine_id, received_at_local(case.received_at),
                         case.contact is not None, case.category, case.flags, case.extern)
    done = {d.kind for d in case.deadlines if d.met_at is not None or d.kind in INTERNAL_KINDS}
    now_open = {(d.kind, d.due, d.promised) for d in case.deadlines
                if d.met_at is None and d.kind not in INTERNAL_KINDS}
    if routine_id == case.routine and now_open == {
            (d.kind, d.due, d.promised) for d in due if d.kind not in done}:
        return
    lifecycle.reschedule(session, case, routine_id, due, actor, now)
