"""Gallring applied to the register: closed cases past the kommun's time,
ignored automatic mail and (when configured) quarantined input.

Each case is cleared in its own short transaction, and inbound rows in
batches, so a long run never holds locks that would stall the workers on
PostgreSQL. Everything is selected by what is still left to clear, so a
second run clears nothing, and a run stopped half-way is finished by the next.
A dry run does the same work and rolls each transaction back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.models import (
    Case,
    CaseStatus,
    Contact,
    Event,
    Inbound,
    InboundStatus,
    Outbox,
    OutboxStatus,
)
from cases.retention import Cutoffs, cutoffs, is_cleared, reason_code, scrub_detail
from config.organisation import Gallring

ACTOR = "system:gallring"
CASE_FIELDS = ("subject", "text", "explanation")
CONTACT_FIELDS = ("name", "email", "phone", "address")
UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True, slots=True)
class CaseCleared:
    case_id: int
    diarienummer: str
    closed_at: datetime
    fields: tuple[str, ...]  # "case.text", "contact.email", ...
    inbound: int  # rows whose raw bytes were emptied
    outbox: int  # rows whose body was emptied
    events: int  # events whose detail was gallrad


@dataclass
class GallringReport:
    now: datetime
    dry_run: bool
    cutoffs: Cutoffs
    cases: list[CaseCleared] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # diarienummer with a send in progress
    automatic: int = 0  # ignored automatic mail emptied
    quarantined: int = 0
    complete: bool = True  # False: stopped at the limit, more is due

    @property
    def cleared_anything(self) -> bool:
        return bool(self.cases or self.automatic or self.quarantined)


def gallra(sessions: sessionmaker[Session], policy: Gallring, now: datetime, *,
           dry_run: bool = False, progress: Callable[[str], None] | None = None,
           batch: int = 200, limit: int | None = None) -> GallringReport:
    """Gallra what is due at ``now``; with ``limit``, look at no more than that
    many cases (the scheduler's round stays short; the next round goes on)."""
    report = GallringReport(now, dry_run, cutoffs(policy, now))
    _cases(sessions, policy, report, progress, batch, limit)
    if not report.complete:
        return report
    report.automatic = _inbound(sessions, InboundStatus.IGNORED,
                                report.cutoffs.automatic_before, report, batch)
    if report.cutoffs.quarantined_before is not None:
        report.quarantined = _inbound(sessions, InboundStatus.QUARANTINED,
                                      report.cutoffs.quarantined_before, report, batch)
    if (report.automatic or report.quarantined) and not dry_run:
        with sessions.begin() as session:  # the audit trail of what had no case
            audit.record(session, ACTOR, "gallring.inbound", at=now, beslut=policy.beslut,
                         automatic=report.automatic, quarantined=report.quarantined)
    return report


def _due_cases(cut: Cutoffs) -> ColumnElement[bool]:
    """Closed before the cutoff, with something still to clear."""
    closed = (select(Event.case_id).where(Event.kind == "case.closed")
              .group_by(Event.case_id).having(func.max(Event.at) < cut.cases_closed_before))
    never = ~exists().where(Event.case_id == Case.id, Event.kind == "case.gallrad")
    raw_left = exists().where(Inbound.case_id == Case.id, func.length(Inbound.raw) > 0)
    body_left = exists().where(Outbox.case_id == Case.id, func.length(Outbox.body) > 0)
    return and_(Case.status == CaseStatus.CLOSED, Case.id.in_(closed),
                or_(never, raw_left, body_left))


def _cases(sessions: sessionmaker[Session], policy: Gallring, report: GallringReport,
           progress: Callable[[str], None] | None, batch: int, limit: int | None) -> None:
    last = 0
    done = 0
    while True:
        if limit is not None and done >= limit:
            report.complete = False
            return
        size = batch if limit is None else min(batch, limit - done)
        with sessions() as session:
            ids = list(session.scalars(select(Case.id).where(
                _due_cases(report.cutoffs), Case.id > last).order_by(Case.id).limit(size)))
        if not ids:
            return
        for case_id in ids:
            with _transaction(sessions, report.dry_run) as session:
                cleared = _clear_case(session, case_id, policy, report)
            if cleared is not None:
                report.cases.append(cleared)
        last = ids[-1]
        done += len(ids)
        if progress:
            progress(f"gick igenom {done} avslutade ärenden")


def _clear_case(session: Session, case_id: int, policy: Gallring,
                report: GallringReport) -> CaseCleared | None:
    case = session.get(Case, case_id, with_for_update=True)
    if case is None or case.status != CaseStatus.CLOSED:
        return None  # reopened or gone since it was selected
    mark = report.cutoffs.marker
    sends = session.execute(select(Outbox.id, Outbox.status, func.length(Outbox.body))
                            .where(Outbox.case_id == case.id)).all()
    if any(status in UNFINISHED for _, status, _ in sends):
        report.waiting.append(case.diarienummer)  # never empty a mail about to be sent
        return None
    closed_at = session.scalar(select(func.max(Event.at)).where(
        Event.case_id == case.id, Event.kind == "case.closed"))
    fields: list[str] = []
    for name in CASE_FIELDS:
        if not is_cleared(getattr(case, name)):
            setattr(case, name, mark)
            fields.append(f"case.{name}")
    contact = session.scalar(select(Contact).where(Contact.case_id == case.id))
    for name in CONTACT_FIELDS:
        if contact is not None and getattr(contact, name) is not None:
            setattr(contact, name, None)
            fields.append(f"contact.{name}")
    rows = session.execute(select(Inbound.id, Inbound.reason, func.length(Inbound.raw))
                           .where(Inbound.case_id == case.id).with_for_update()).all()
    inbound_ids = [row_id for row_id, _, _ in rows]
    emptied = [row_id for row_id, _, size in rows if size]
    if rows:
        session.execute(update(Inbound), [
            {"id": row_id, "raw": b"", "sender": None, "reason": reason_code(reason, mark)}
            for row_id, reason, _ in rows])
    outbox_ids = [row_id for row_id, _, _ in sends]
    sent = [row_id for row_id, _, size in sends if size]
    if outbox_ids:
        session.execute(update(Outbox).where(Outbox.id.in_(outbox_ids)).values(
            body=b"", recipient=mark, subject=mark, last_error=None))
    events = _clear_events(session, case.id, inbound_ids, outbox_ids, mark, report.now)
    if not (fields or emptied or sent or events):
        return None
    cleared = CaseCleared(case.id, case.diarienummer, closed_at or report.now, tuple(fields),
                          len(emptied), len(sent), events)
    audit.record(session, ACTOR, "case.gallrad", case_id=case.id, at=report.now,
                 beslut=policy.beslut, months=policy.arenden_manader,
                 cleared={"fields": list(cleared.fields), "inbound": cleared.inbound,
                          "outbox": cleared.outbox, "events": cleared.events})
    return cleared


def _clear_events(session: Session, case_id: int, inbound_ids: list[int],
                  outbox_ids: list[int], mark: str, now: datetime) -> int:
    """Replace the free texts of the case's events, each at most once."""
    mine = [Event.case_id == case_id]
    if inbound_ids:
        mine.append(Event.inbound_id.in_(inbound_ids))
    if outbox_ids:
        mine.append(Event.outbox_id.in_(outbox_ids))
    count = 0
    for event in session.scalars(select(Event).where(or_(*mine), Event.gallrad_at.is_(None))):
        scrubbed = scrub_detail(event.kind, event.detail, mark)
        if scrubbed is not None:
            event.detail, event.gallrad_at = scrubbed, now
            count += 1
    session.flush()
    return count


def _inbound(sessions: sessionmaker[Session], status: InboundStatus, before: datetime,
             report: GallringReport, batch: int) -> int:
    """Empty the raw bytes of unlinked input with ``status`` received before ``before``."""
    total, last = 0, 0
    while True:
        with _transaction(sessions, report.dry_run) as session:
            rows = session.execute(
                select(Inbound.id, Inbound.reason)
                .where(Inbound.status == status, Inbound.case_id.is_(None),
                       Inbound.received_at < before, func.length(Inbound.raw) > 0,
                       Inbound.id > last)
                .order_by(Inbound.id).limit(batch).with_for_update(skip_locked=True)).all()
            if not rows:
                return total
            session.execute(update(Inbound), [
                {"id": row_id, "raw": b"", "sender": None,
                 "reason": reason_code(reason, report.cutoffs.marker)}
                for row_id, reason in rows])
        total += len(rows)
        last = rows[-1][0]


@contextmanager
def _transaction(sessions: sessionmaker[Session], dry_run: bool) -> Iterator[Session]:
    """One short transaction: committed, or rolled back on a dry run."""
    with sessions() as session:
        session.begin()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()
