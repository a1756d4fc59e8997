"""The reminder job: the morning digests to chefs, each at most once.

Called by the scheduler (production) and each embedded pass. A digest's
outbox row has the key `sammanstallning:<address>:<day>`, so a restart or a
second scheduler queues nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from cases import audit
from cases.lifecycle import INTERNAL_KINDS, delay_reason
from cases.models import Case, CaseStatus, Deadline, Event
from config.organisation import REGISTRATOR, Person
from config.routines import Rutin
from notify.delay import render_delay_notice, render_delay_sms
from notify.digest import (
    HANDOVER,
    NewCase,
    OpenDeadline,
    build_digests,
    digest_day,
    digest_window_end,
    render_digest,
)
from notify.notices import role_person
from notify.outbox import queue_mail, queue_sms
from service.app import App

log = logging.getLogger(__name__)


def _open_deadlines(session: Session, before: date | None = None) -> list[tuple[Deadline, Case]]:
    """Deadlines not yet met, of cases still waiting for återkoppling; and the
    verksamhet's own (the same-day assessment of a possible serious incident),
    which återkoppling to the sender does not meet (cases.lifecycle)."""
    query = (select(Deadline, Case).join(Case, Case.id == Deadline.case_id)
             .where(Deadline.met_at.is_(None), or_(
                 Case.status == CaseStatus.OPEN,
                 and_(Case.status == CaseStatus.FEEDBACK_GIVEN,
                      Deadline.kind.in_(sorted(INTERNAL_KINDS))))))
    if before is not None:
        query = query.where(Deadline.due < before)
    return [(d, c) for d, c in session.execute(query).all()]


def _lead(profiles: Mapping[str, Rutin], routine: str) -> int:
    profile = profiles.get(routine)
    return profile.paminnelse_arbetsdagar if profile else 2


def send_digests(app: App, now: datetime | None = None) -> list[int]:
    """Queue today's digests if it is digest time; the new outbox ids."""
    now = now or app.clock()
    day = digest_day(now)
    if day is None:
        return []
    with app.sessions.begin() as session:
        rows = _open_deadlines(session)
        profiles = app.kommun.routines.profiler
        deadlines = [OpenDeadline(c.id, c.diarienummer, c.enhet, d.kind, d.description, d.due,
                                  c.priority == "akut", _lead(profiles, c.routine))
                     for d, c in rows]
        informed, told = _told_in_digest(app, session, digest_window_end(day).astimezone(UTC))
        queued = []
        unlisted: set[int] = set()
        for digest in build_digests(app.kommun.organisation, deadlines, day, informed):
            web = (app.settings.public_url or "").rstrip("/") or None
            outbox_id = queue_mail(session, render_digest(app.kommun, digest, now, web),
                             kind="sammanstallning", dedupe_key=digest.dedupe_key,
                             case_id=None, limit=app.auto_reply_limit, now=now)
            if outbox_id is not None:
                queued.append(outbox_id)
            else:  # this recipient's digest of today went earlier: theirs wait a day
                unlisted |= {c.case_id for c in digest.informed}
        for case_id in sorted(told - unlisted):  # listed: no later digest lists them again
            audit.record(session, "system:reminders", "case.listed_in_digest", case_id=case_id,
                         at=now, day=day.isoformat())
    if queued:
        log.info("digests queued day=%s count=%s", day.isoformat(), len(queued))
    return queued


def _told_in_digest(app: App, session: Session, before: datetime
                    ) -> tuple[list[tuple[Person, NewCase]], set[int]]:
    """Who is to read of which new case in this digest: each case whose
    registration (or correction) left roles to be told in the digest
    (``case.told_in_digest``) before ``before``, and that no digest has
    listed since. A morning the job did not run is caught up the next."""
    told = aliased(Event)
    listed = aliased(Event)
    rows = session.execute(
        select(told, Case).join(Case, Case.id == told.case_id)
        .where(told.kind == "case.told_in_digest", told.at < before,
               ~exists().where(listed.case_id == told.case_id,
                               listed.kind == "case.listed_in_digest", listed.at >= told.at))
        .order_by(told.id)).all()
    org = app.kommun.organisation
    informed: list[tuple[Person, NewCase]] = []
    cases: set[int] = set()
    for event, case in rows:
        cases.add(case.id)
        if case.enhet == REGISTRATOR:  # back with the registrator: told when routed again
            continue
        first_due = min((d.due for d in case.deadlines if d.met_at is None), default=None)
        for role in event.detail.get("roles", []):
            if role == HANDOVER and case.status != CaseStatus.OPEN:
                continue  # answered or closed before the chef's morning: nothing to hand over
            found = role_person(org, case.enhet, role)
            if found is not None:
                person = Person(epost=found[0], namn=found[1])
                informed.append((person, NewCase(case.id, case.diarienummer, case.enhet,
                                                 case.category, (role,), first_due,
                                                 tuple(sorted(case.flags)))))
    return informed, cases


def send_delay_notices(app: App, now: datetime | None = None) -> list[int]:
    """On a working morning, tell each sender whose promised deadline has
    passed (a deadline with `förseningsbesked`) why it takes longer: once
    per case and deadline."""
    now = now or app.clock()
    day = digest_day(now)
    if day is None:
        return []
    profiles = app.kommun.routines.profiler
    queued = []
    with app.sessions.begin() as session:
        for deadline, case in _open_deadlines(session, before=day):
            profile = profiles.get(case.routine)
            promised = deadline.promised and profile and any(
                f.typ == deadline.kind and f.forseningsbesked for f in profile.frister)
            contact = case.contact
            if not promised or contact is None or not (contact.email or contact.phone):
                continue
            reason = delay_reason(session, case.id)
            key = f"forseningsbesked:case:{case.id}:{deadline.kind}"
            if contact.email:
                mail = render_delay_notice(app.kommun, case.diarienummer, contact.email,
                                           contact.name, deadline.description, deadline.due,
                                           reason, now)
                outbox_id = queue_mail(session, mail, kind="forseningsbesked", dedupe_key=key,
                                 case_id=case.id, limit=app.auto_reply_limit, now=now)
            else:  # wrote by SMS: told by SMS
                sms = render_delay_sms(app.kommun, case.diarienummer, str(contact.phone),
                                       deadline.due, reason)
                outbox_id = queue_sms(session, sms, kind="forseningsbesked", dedupe_key=key,
                                case_id=case.id, limit=app.auto_reply_limit, now=now)
            if outbox_id is not None:
                queued.append(outbox_id)
    return queued


class MorningJobs:
    """The digests and the delay notices, once per working day in a process
    that runs them round after round (the scheduler, the embedded loop).
    Without this each round after 08:00 loaded every open deadline and
    rendered every digest again, only for the dedupe keys to refuse them.
    A restart runs them once more; the dedupe keys make that harmless. A
    round that fails is tried again in the next."""

    def __init__(self) -> None:
        self.done: date | None = None

    def __call__(self, app: App, now: datetime | None = None) -> list[int]:
        now = now or app.clock()
        day = digest_day(now)
        if day is None or day == self.done:
            return []
        queued = [*send_digests(app, now), *send_delay_notices(app, now)]
        self.done = day
        return queued
