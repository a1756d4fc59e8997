"""Statistics for a period as a page with charts, and as CSV, XLSX and PDF:
the registrator and admins see the whole kommun, a chef the own enhet."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.orm import Session

from config.words import Words
from deadlines.calendar import STOCKHOLM
from review import views
from review.reports import as_csv, as_pdf, as_xlsx, bar_chart, compliance_rows
from review.sessions import Current
from review.stats import Stats, compute, half_year, parse_period
from review.web import Db, Who, render
from service.app import App


def router(app: App) -> APIRouter:
    routes = APIRouter()

    def _stats(session: Session, me: Current, period: str | None) -> Stats:
        today = views.today(app.clock())
        scope = me.person.enhet if me.person.role == "chef" else None
        return compute(session, app.kommun, parse_period(period, today), today,
                       enhet=scope)

    @routes.get("/statistik")
    def statistics(request: Request, session: Db, me: Who, period: str | None = None
                   ) -> Response:
        stats = _stats(session, me, period)
        year = app.clock().astimezone(STOCKHOLM).year
        periods = [p for y in (year, year - 1)
                   for p in (half_year(y, 2), half_year(y, 1), parse_period(str(y), date(y, 1, 1)))]
        charts = [bar_chart(title, rows) for title, rows in stats.tables()]
        charts.insert(1, bar_chart("Frister", compliance_rows(stats)))
        chef_of = me.person.enhet if me.person.role == "chef" else None
        scope = Words(app.kommun).enhet(chef_of) if chef_of else ""
        return render(request, app, "stats.html", me, nav="statistik", stats=stats,
                      periods=periods, charts=charts, scope=scope,
                      share=stats.compliance.share_on_time)

    @routes.get("/statistik.{kind}")
    def export(session: Db, me: Who, kind: str, period: str | None = None) -> Response:
        stats = _stats(session, me, period)
        name = f"synpunkter-{stats.period.key}"
        if kind == "csv":
            body: bytes = as_csv(stats).encode("utf-8")
            media = "text/csv; charset=utf-8"
        elif kind == "xlsx":
            body = as_xlsx(stats)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        elif kind == "pdf":
            body = as_pdf(stats, app.kommun.organisation.kommun.namn, app.clock())
            media = "application/pdf"
        else:
            raise HTTPException(status_code=404)
        return Response(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{name}.{kind}"'})

    return routes
