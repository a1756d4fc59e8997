"""The compilations the routines ask for (Essunga twice a year, Hässelby-
Vällingby in the kvalitetsberättelse): counts by month, förvaltning, enhet,
category, aspect and channel, deadline compliance and actions taken, for a
period. Pure over rows read once; rendering (SVG, CSV, XLSX, PDF) elsewhere."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cases.models import Case, Event
from config.kommun import Kommun
from config.routines import COMPILATION
from config.words import Words
from deadlines.calendar import STOCKHOLM

MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
# The events counted as actions, in the plural a count reads with.
ACTIONS = {"case.feedback_given": "återkoppling lämnad", "case.closed": "avslutade",
           "case.corrected": "rättade av registratorn", "case.confirmed": "bekräftade av "
           "registratorn", "case.delay_reason": "förseningsorsak angiven",
           "case.note": "anteckningar"}


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # exclusive
    label: str

    @property
    def key(self) -> str:
        return self.label.replace(" ", "-")

    @property
    def last(self) -> date:
        """The period's last day, as a person is shown it."""
        return self.end - timedelta(days=1)

    @property
    def span(self) -> str:
        """'2026-07-01 – 2026-12-31': first and last day, both included."""
        return f"{self.start.isoformat()} – {self.last.isoformat()}"


def parse_period(text: str | None, today: date) -> Period:
    """``2026-H2``, ``2026-H1`` or ``2026``; the current half-year by default."""
    found = re.fullmatch(r"(\d{4})(?:-H([12]))?", (text or "").strip())
    if not found:
        return half_year(today.year, 1 if today.month <= 6 else 2)
    year = int(found.group(1))
    if found.group(2):
        return half_year(year, int(found.group(2)))
    return Period(date(year, 1, 1), date(year + 1, 1, 1), str(year))


def half_year(year: int, half: int) -> Period:
    if half == 1:
        return Period(date(year, 1, 1), date(year, 7, 1), f"{year} H1")
    return Period(date(year, 7, 1), date(year + 1, 1, 1), f"{year} H2")


@dataclass(frozen=True, slots=True)
class Compliance:
    on_time: int  # deadlines met on or before their day
    late: int  # met after their day
    overdue: int  # not met, their day has passed
    pending: int  # not met, not yet due

    @property
    def share_on_time(self) -> float | None:
        done = self.on_time + self.late + self.overdue
        return self.on_time / done if done else None


@dataclass(frozen=True, slots=True)
class Stats:
    period: Period
    total: int
    by_month: list[tuple[str, int]]
    by_forvaltning: list[tuple[str, int]]
    by_enhet: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    by_aspect: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    compliance: Compliance
    actions: list[tuple[str, int]]
    # Registered, but outside the routine and so not counted above: by reason.
    excluded: list[tuple[str, int]]
    # What was done: the återkoppling written on each case (diarienummer, enhet, text).
    measures: list[tuple[str, str, str]]
    # The private utförare's own yearly compilations received (Söderköping
    # 000:54), one row each: "Ekhagens äldreboende (Omsorgia AB), EKBY 2026/0042".
    compilations: list[tuple[str, int]]

    def tables(self) -> list[tuple[str, list[tuple[str, int]]]]:
        return [("Per månad", self.by_month), ("Per förvaltning", self.by_forvaltning),
                ("Per enhet", self.by_enhet), ("Per kategori", self.by_category),
                ("Per aspekt", self.by_aspect), ("Per kanal", self.by_channel),
                ("Åtgärder", self.actions), ("Utanför rutinen", self.excluded),
                ("Sammanställningar från utförare", self.compilations)]


def compute(session: Session, kommun: Kommun, period: Period, today: date,
            enhet: str | None = None) -> Stats:
    """The period's statistics; cases the routine excludes (its ``undantag``)
    are counted apart, by reason, and nowhere else."""
    org = kommun.organisation
    words = Words(kommun)
    start = datetime.combine(period.start, time(), STOCKHOLM)
    end = datetime.combine(period.end, time(), STOCKHOLM)
    stmt = (select(Case).options(selectinload(Case.deadlines))
            .where(Case.received_at >= start, Case.received_at < end))
    if enhet is not None:
        stmt = stmt.where(Case.enhet == enhet)
    excluded: Counter[str] = Counter()
    cases, compilations = [], []
    for case in session.scalars(stmt):
        outside = kommun.routines.excluded(case.routine, case.flags)
        if COMPILATION in case.flags:
            compilations.append((f"{words.enhet(case.enhet)}, {case.diarienummer}", 1))
        if outside:
            excluded[words.flags(outside)] += 1
        else:
            cases.append(case)
    forvaltning_of = {e.id: f.namn for f, _, e in org.enheter()}
    months: Counter[str] = Counter()
    for c in cases:
        local = c.received_at.astimezone(STOCKHOLM)
        months[f"{local.year}-{local.month:02d}"] += 1
    month_rows = []
    cursor = period.start
    while cursor < period.end:
        key = f"{cursor.year}-{cursor.month:02d}"
        month_rows.append((f"{MONTHS[cursor.month - 1]} {cursor.year}", months[key]))
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    on_time = late = overdue = pending = 0
    for c in cases:
        for d in c.deadlines:
            if d.met_at is not None:
                if d.met_at.astimezone(STOCKHOLM).date() <= d.due:
                    on_time += 1
                else:
                    late += 1
            elif d.due < today:
                overdue += 1
            else:
                pending += 1
    ids = [c.id for c in cases]
    by_id = {c.id: c for c in cases}
    actions: Counter[str] = Counter()
    measures: list[tuple[str, str, str]] = []
    for chunk in range(0, len(ids), 500):
        for kind, case_id, detail in session.execute(select(
                Event.kind, Event.case_id, Event.detail).where(
                Event.case_id.in_(ids[chunk:chunk + 500]), Event.kind.in_(ACTIONS))
                .order_by(Event.id)):
            actions[ACTIONS[kind]] += 1
            note = (detail or {}).get("note") if kind == "case.feedback_given" else None
            if isinstance(note, str) and note.strip() and case_id in by_id:
                case = by_id[case_id]
                measures.append((case.diarienummer, words.enhet(case.enhet), note.strip()))
    return Stats(
        period=period, total=len(cases), by_month=month_rows,
        by_forvaltning=_count(forvaltning_of.get(c.enhet, words.enhet(c.enhet)) for c in cases),
        by_enhet=_count(words.enhet(c.enhet) for c in cases),
        by_category=_count(words.category(c.category) if c.category else "ej klassat"
                           for c in cases),
        by_aspect=_count(words.aspect(a) for c in cases for a in c.aspects),
        by_channel=_count(words.channel(c.channel) for c in cases),
        compliance=Compliance(on_time, late, overdue, pending),
        actions=sorted(actions.items(), key=lambda kv: (-kv[1], kv[0])),
        excluded=sorted(excluded.items(), key=lambda kv: (-kv[1], kv[0])),
        measures=measures, compilations=sorted(compilations),
    )


def _count(values: Iterable[str]) -> list[tuple[str, int]]:
    counted: Counter[str] = Counter(values)
    return sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
