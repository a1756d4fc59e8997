"""A list page's filter form: what the person asked (GET parameters), checked
against the vocabulary and turned into a ``cases.search.CaseQuery``, and the
links (pages, sort, export) that keep what was asked. Ids only in values and
URLs; the words a person reads come from ``config.words``. No HTML here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from cases.models import CaseStatus
from cases.search import SORTS, CaseQuery, Sort
from config.words import CASE_STATUS, CATEGORY, CHANNEL, FLAG, PRIORITY

PER_PAGE = 50
MAX_TEXT = 200
ACTIVE = "aktiva"  # not closed: open, or feedback given and still to close
EVERY = "alla"
STATUS_CHOICES: list[tuple[str, str]] = [
    (ACTIVE, "ej avslutade"), (EVERY, "alla"),
    *((s, CASE_STATUS[s]) for s in (CaseStatus.OPEN, CaseStatus.FEEDBACK_GIVEN,
                                    CaseStatus.CLOSED))]
SORT_WORDS: dict[str, str] = {
    "urgency": "mest brådskande först", "deadline": "närmaste frist först",
    "newest": "senast inkomna först", "oldest": "äldst först",
    "diarienummer": "diarienummer, senaste först"}
FIELDS = ("q", "status", "enhet", "category", "flag", "channel", "priority", "overdue",
          "since", "until", "sort")


@dataclass(frozen=True, slots=True)
class ListForm:
    """The filter form as asked, to fill the form again and build links."""

    path: str
    values: dict[str, str]  # field → value as asked (checked), "" when not given
    defaults: dict[str, str]  # status and sort when not asked: left out of links
    page: int = 1
    problems: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def url(self, page: int | None = None, path: str | None = None, **extra: str) -> str:
        """This list with the same filters (and another page, or at another path)."""
        params = [(k, v) for k, v in self.values.items()
                  if v and v != self.defaults.get(k)]
        if page is not None and page > 1:
            params.append(("sida", str(page)))
        params += [(k, v) for k, v in extra.items() if v]
        query = urlencode(params)
        return (path or self.path) + (f"?{query}" if query else "")

    @property
    def filtered(self) -> bool:
        return any(self.values.get(k) and self.values[k] != self.defaults.get(k)
                   for k in FIELDS if k != "sort")


def _one(params: Mapping[str, str], name: str, allowed: Sequence[str] | None = None) -> str:
    value = (params.get(name) or "").strip()[:MAX_TEXT]
    if allowed is not None and value not in allowed:
        return ""
    return value


def _day(text: str, problems: list[str], what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        problems.append(f"{what}: {text!r} är inget datum (skriv till exempel 2026-12-01).")
        return None


def parse(path: str, params: Mapping[str, str], *, enheter: Sequence[str],
          default_status: str, default_sort: Sort, enhet_locked: str | None = None,
          needs_review: bool | None = None, per_page: int = PER_PAGE) -> tuple[CaseQuery,
                                                                             ListForm]:
    """The CaseQuery a list page's parameters ask for. A chef's ``enhet_locked``
    is their own enhet: any ``enhet`` parameter is ignored, never trusted."""
    problems: list[str] = []
    values = {
        "q": " ".join(_one(params, "q").split()),
        "status": _one(params, "status", [k for k, _ in STATUS_CHOICES]) or default_status,
        "enhet": "" if enhet_locked is not None else _one(params, "enhet", enheter),
        "category": _one(params, "category", [*CATEGORY, "ingen"]),
        "flag": _one(params, "flag", list(FLAG)),
        "channel": _one(params, "channel", list(CHANNEL)),
        "priority": _one(params, "priority", list(PRIORITY)),
        "overdue": "1" if _one(params, "overdue") in ("1", "on", "ja") else "",
        "since": _one(params, "since"), "until": _one(params, "until"),
        "sort": _one(params, "sort", SORTS) or default_sort,
    }
    since = _day(values["since"], problems, "Från")
    until = _day(values["until"], problems, "Till")
    for key, day in (("since", since), ("until", until)):
        values[key] = day.isoformat() if day else ""
    try:
        page = max(1, min(int(params.get("sida") or 1), 100_000))
    except ValueError:
        page = 1
    status = values["status"]
    statuses: tuple[str, ...] = (
        () if status == EVERY else
        (CaseStatus.OPEN, CaseStatus.FEEDBACK_GIVEN) if status == ACTIVE else (status,))
    enhet = (enhet_locked,) if enhet_locked is not None else (
        (values["enhet"],) if values["enhet"] else ())
    category = values["category"]
    query = CaseQuery(
        text=values["q"], status=statuses, enhet=enhet,
        category=("",) if category == "ingen" else ((category,) if category else ()),
        flag=(values["flag"],) if values["flag"] else (),
        channel=(values["channel"],) if values["channel"] else (),
        priority=(values["priority"],) if values["priority"] else (),
        needs_review=needs_review, overdue=values["overdue"] == "1", since=since, until=until,
        sort=values["sort"], page=page, per_page=per_page)  # type: ignore[arg-type]
    defaults = {"status": default_status, "sort": default_sort}
    return query, ListForm(path, values, defaults, page, problems)


def pages_around(page: int, pages: int) -> list[int]:
    """The page numbers a pager links: first, last and two on each side (0: a gap)."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int] = []
    for n in shown:
        if out and n - out[-1] > 1:
            out.append(0)
        out.append(n)
    return out
