"""Finding cases: filters, free-text search, sort and paging, done by the
database (a register of 20,000 cases answers a page at a time).

One query for every list a person reads: the registrator's review queue
(``needs_review``, ordered by urgency: akut and possible serious incidents
first, then the nearest deadline), all cases, a chef's own queue, and
`synpunkt cases list`. ``CaseQuery`` is a frozen value built by the web
handlers and the command line from what the person asked; ``search``
returns one page and the total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from sqlalchemy import ColumnElement, Text, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql._typing import _ColumnExpressionOrStrLabelArgument

from cases.models import Case, CaseStatus, Contact, Deadline
from deadlines.calendar import STOCKHOLM

Sort = Literal["urgency", "newest", "oldest", "deadline", "diarienummer"]
SORTS: tuple[Sort, ...] = ("urgency", "newest", "oldest", "deadline", "diarienummer")
MAX_PER_PAGE = 200


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """What a person asks of the register. Empty fields do not filter."""

    text: str = ""  # diarienummer, sender, subject or text, case-insensitive
    status: tuple[str, ...] = ()  # CaseStatus values
    enhet: tuple[str, ...] = ()
    category: tuple[str, ...] = ()  # "" for cases without a category
    flag: tuple[str, ...] = ()  # any of them
    channel: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    needs_review: bool | None = None
    overdue: bool = False  # an open deadline passed (needs ``today``)
    since: date | None = None  # received on or after (Swedish day)
    until: date | None = None  # received on or before (Swedish day)
    sort: Sort = "newest"
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"okänd sortering {self.sort!r}: {', '.join(SORTS)}")
        if self.page < 1 or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"sida från 1, högst {MAX_PER_PAGE} per sida")


@dataclass(frozen=True, slots=True)
class Page:
    cases: list[Case] = field(default_factory=list)  # with deadlines and contact loaded
    total: int = 0
    page: int = 1
    per_page: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(session: Session, query: CaseQuery, today: date) -> Page:
    """One page of the cases ``query`` asks for, and how many there are."""
    where = conditions(query, today)
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    stmt = (
        select(Case).options(selectinload(Case.deadlines), selectinload(Case.contact))
        .where(*where).order_by(*_order(query.sort))
        .offset((query.page - 1) * query.per_page).limit(query.per_page))
    return Page(list(session.scalars(stmt)), total, query.page, query.per_page)


def conditions(query: CaseQuery, today: date) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.text.strip():
        needle = f"%{_escape(query.text.strip().lower())}%"
        # Two index-friendly halves in a UNION (PostgreSQL answers each
        # half from its trigram indexes, migration 0012); an OR with an
        # EXISTS on the contact would read every case.
        in_case = select(Case.id).where(or_(
            func.lower(Case.diarienummer).like(needle, escape="\\"),
            func.lower(Case.subject).like(needle, escape="\\"),
            func.lower(Case.text).like(needle, escape="\\")))
        sender = select(Contact.case_id).where(or_(
            func.lower(Contact.email).like(needle, escape="\\"),
            func.lower(Contact.name).like(needle, escape="\\"),
            Contact.phone.like(needle, escape="\\")))
        where.append(Case.id.in_(in_case.union(sender)))
    for column, values in ((Case.status, query.status), (Case.enhet, query.enhet),
                           (Case.channel, query.channel), (Case.priority, query.priority)):
        if values:
            where.append(column.in_(values))
    if query.category:
        named = [c for c in query.category if c]
        where.append(or_(Case.category.in_(named), *(
            [Case.category.is_(None)] if "" in query.category else [])))
    if query.flag:  # flags is a JSON list: matched as text, each flag a quoted word
        where.append(or_(*(func.cast(Case.flags, Text).like(f'%"{_escape(f)}"%', escape="\\")
                           for f in query.flag)))
    if query.needs_review is not None:
        where.append(Case.needs_review.is_(query.needs_review))
    if query.overdue:
        where.append(Case.status == CaseStatus.OPEN)
        where.append(exists().where(Deadline.case_id == Case.id, Deadline.met_at.is_(None),
                                    Deadline.due < today))
    if query.since is not None:
        where.append(Case.received_at >= datetime.combine(query.since, time(), STOCKHOLM))
    if query.until is not None:
        end = datetime.combine(date.fromordinal(query.until.toordinal() + 1), time(), STOCKHOLM)
        where.append(Case.received_at < end)
    return where


def _order(sort: Sort) -> list[_ColumnExpressionOrStrLabelArgument[Any]]:
    next_due = (select(func.min(Deadline.due))
                .where(Deadline.case_id == Case.id, Deadline.met_at.is_(None))
                .correlate(Case).scalar_subquery())
    if sort == "urgency":  # akut and possible serious incidents first, then the nearest deadline
        serious = func.cast(Case.flags, Text).like('%"allvarlig_handelse"%')
        rank = case((Case.priority == "akut", 0), (serious, 1), (Case.priority == "hög", 2),
                    else_=3)
        return [rank, next_due.is_(None), next_due, Case.received_at, Case.id]
    if sort == "deadline":
        return [next_due.is_(None), next_due, Case.id]
    if sort == "oldest":
        return [Case.received_at, Case.id]
    if sort == "diarienummer":
        return [Case.year.desc(), Case.number.desc()]
    return [Case.received_at.desc(), Case.id.desc()]


def find_by_reference(session: Session, reference: str) -> Case | None:
    """A case by its id ("42") or its diarienummer ("EKBY 2026/0003", any case,
    any spacing; "2026/3" within the kommun's series)."""
    text = " ".join(reference.split())
    if text.isdigit():
        return session.get(Case, int(text))
    found = session.scalar(select(Case).where(func.lower(Case.diarienummer) == text.lower()))
    if found is not None:
        return found
    tail = text.rsplit(" ", 1)[-1]
    year, _, number = tail.partition("/")
    if year.isdigit() and number.isdigit():
        return session.scalar(select(Case).where(and_(Case.year == int(year),
                                                      Case.number == int(number))))
    return None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

