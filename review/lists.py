"""The lists: the registrator's inbox (the review queue by urgency, today's
automatically routed cases, set-aside mail, the outbox needing a decision),
all cases, and a chef's own enhet. Search, filters, sort and paging are done
by the database (``cases.search``); each list pages, and each exports what
it shows as CSV or XLSX. A chef's enhet comes from the session, never from
a parameter. Every view and action checks the person's role on the server."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Case, CaseStatus
from cases.search import CaseQuery, Page, search
from config.organisation import REGISTRATOR
from config.words import CATEGORY, CHANNEL, FLAG, PRIORITY, Words
from review import list_export, views
from review.access import may_correct
from review.list_query import (
    ACTIVE,
    EVERY,
    SORT_WORDS,
    STATUS_CHOICES,
    ListForm,
    pages_around,
    parse,
)
from review.sessions import Current
from review.web import Db, Who, check_csrf, render, require, see_other
from service.app import App
from service.correction import correct_case

SECTION = 25  # rows per page in the inbox's other sections
MAX_CONFIRM = 200  # cases confirmed in one go
EXPORTS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def router(app: App) -> APIRouter:
    routes = APIRouter()

    def enheter() -> list[tuple[str, str]]:
        return [(e.id, e.namn) for _, _, e in app.kommun.organisation.enheter()]

    def choices(locked: bool) -> dict[str, list[tuple[str, str]]]:
        """(value, words) for each select of the filter form."""
        return {
            "status": STATUS_CHOICES, "sort": list(SORT_WORDS.items()),
            "enhet": [] if locked else sorted(enheter(), key=lambda e: e[1].lower()),
            "category": [*CATEGORY.items(), ("ingen", "ej bestämd")],
            "flag": list(FLAG.items()), "channel": list(CHANNEL.items()),
            "priority": list(PRIORITY.items()),
        }

    def listing(session: Session, query: CaseQuery, day: date) -> Page:
        found = search(session, query, day)
        if not found.cases and found.total and query.page > found.pages:  # past the end
            found = search(session, _at_page(query, found.pages), day)
        return found

    def context(session: Session, query: CaseQuery, form: ListForm,
                locked: bool) -> dict[str, Any]:
        day = views.today(app.clock())
        found = listing(session, query, day)
        return {"rows": views.case_rows(found.cases, day, Words(app.kommun)), "found": found,
                "form": form, "choices": choices(locked), "pages_around": pages_around,
                "problems": form.problems}

    @routes.get("/inkorg")
    def inbox(request: Request, session: Db, me: Who) -> Response:
        require(may_correct(me.person))
        now = app.clock()
        words = Words(app.kommun)
        query, form = parse("/inkorg", request.query_params, enheter=_ids(enheter()),
                            default_status=ACTIVE, default_sort="urgency", needs_review=True)
        pages = {k: _section_page(request, k) for k in ("idag", "ovrigt", "utskick")}
        todays, todays_total = views.todays_rows(session, now, words, pages["idag"], SECTION)
        return render(
            request, app, "inbox.html", me, nav="inkorg",
            **context(session, query, form, locked=False),
            today=todays, today_total=todays_total,
            inbound=views.set_aside(session, 14, now, (pages["ovrigt"] - 1) * SECTION, SECTION),
            inbound_total=views.set_aside_count(session, 14, now),
            outbox=views.outbox_attention(session, (pages["utskick"] - 1) * SECTION, SECTION),
            outbox_total=views.outbox_attention_count(session),
            sections=pages, section_size=SECTION, words=words,
            back=form.url(page=form.page))

    @routes.get("/arenden")
    def all_cases(request: Request, session: Db, me: Who) -> Response:
        require(may_correct(me.person))
        query, form = parse("/arenden", request.query_params, enheter=_ids(enheter()),
                            default_status=EVERY, default_sort="newest")
        return render(request, app, "cases.html", me, nav="arenden",
                      **context(session, query, form, locked=False))

    @routes.get("/enhet")
    def enhet(request: Request, session: Db, me: Who) -> Response:
        own = _own_enhet(me)
        query, form = parse("/enhet", request.query_params, enheter=[own], enhet_locked=own,
                            default_status=ACTIVE, default_sort="deadline")
        return render(request, app, "chef.html", me, nav="enhet",
                      enhet_namn=Words(app.kommun).enhet(own),
                      **context(session, query, form, locked=True))

    @routes.get("/arenden.{kind}")
    def export_all(request: Request, session: Db, me: Who, kind: str) -> Response:
        require(may_correct(me.person))
        query, _ = parse("/arenden", request.query_params, enheter=_ids(enheter()),
                         default_status=EVERY, default_sort="newest")
        return _export(session, me, query, kind, "arenden")

    @routes.get("/enhet.{kind}")
    def export_enhet(request: Request, session: Db, me: Who, kind: str) -> Response:
        own = _own_enhet(me)
        query, _ = parse("/enhet", request.query_params, enheter=[own], enhet_locked=own,
                         default_status=ACTIVE, default_sort="deadline")
        return _export(session, me, query, kind, "enhet")

    def _export(session: Session, me: Current, query: CaseQuery, kind: str,
                name: str) -> Response:
        if kind not in EXPORTS:
            raise HTTPException(status_code=404, detail="okänt format")
        now = app.clock()
        rows = list_export.rows(session, query, views.today(now), Words(app.kommun), me.person)
        body = list_export.as_csv(rows) if kind == "csv" else list_export.as_xlsx(rows)
        filename = f"{name}-{views.today(now).isoformat()}.{kind}"
        return Response(body, media_type=EXPORTS[kind], headers={
            "Content-Disposition": f'attachment; filename="{filename}"'})

    @routes.post("/inkorg/bekrafta")
    def confirm_many(session: Db, me: Who,
                     ids: Annotated[list[str] | None, Form()] = None,
                     tillbaka: Annotated[str, Form(max_length=2000)] = "",
                     csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        """The registrator accepts the machine's labels of the ticked cases as
        they are, in one transaction; a case no longer open for review (someone
        else confirmed or closed it) or without a category or an enhet is
        skipped and counted."""
        check_csrf(me, csrf)
        require(may_correct(me.person))
        chosen = sorted({int(i) for i in ids or [] if i.isdigit() and 0 < int(i) < 2**31})
        known = set(_ids(enheter())) - {REGISTRATOR}
        done = skipped = 0
        for case_id in chosen[:MAX_CONFIRM]:
            case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
            if (case is None or not case.needs_review or case.status != CaseStatus.OPEN
                    or not case.category or case.enhet not in known):
                skipped += 1
                continue
            correct_case(app, session, case, case.category, case.enhet, list(case.flags),
                         me.person.actor, me.person.email)
            done += 1
        skipped += max(0, len(chosen) - MAX_CONFIRM)
        said = ("Inget ärende markerat." if not chosen else
                f"{done} {'ärende' if done == 1 else 'ärenden'} bekräftade.")
        if skipped:
            said += (f" {skipped} hoppades över: redan granskade eller avslutade, "
                     "eller utan kategori eller enhet. Öppna dem för att rätta.")
        back = tillbaka if tillbaka.startswith("/inkorg?") else "/inkorg"
        sep = "&" if "?" in back else "?"
        return see_other(f"{back}{sep}{urlencode({'klart': said})}#granska")

    return routes


def _own_enhet(me: Current) -> str:
    """A chef's own enhet, from the session only."""
    require(me.person.enhet is not None)
    return str(me.person.enhet)


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [i for i, _ in pairs]


def _section_page(request: Request, section: str) -> int:
    try:
        return max(1, min(int(request.query_params.get(f"{section}_sida") or 1), 10_000))
    except ValueError:
        return 1


def _at_page(query: CaseQuery, page: int) -> CaseQuery:
    return replace(query, page=page)
