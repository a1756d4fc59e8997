"""The admin's pages: routing rules and routines edited, tried and saved
with their history, and the users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import User
from config.words import Words
from review import admin as admin_files
from review import views
from review.access import may_admin
from review.sessions import Current
from review.users import UserError, put_user, set_active
from review.web import Db, RowId, Who, check_csrf, render, require, see_other
from routing.load import load_rules
from routing.rules import RuleSet
from service.app import App

ADMIN_TRIAL = 500  # a rules draft is tried on this many of the latest cases


def router(app: App) -> APIRouter:
    routes = APIRouter()

    @routes.get("/admin")
    def admin(request: Request, session: Db, me: Who) -> Response:
        require(may_admin(me.person))
        return _admin_page(request, session, me, {})

    @routes.post("/admin/fil/{name}")
    def admin_file(request: Request, session: Db, me: Who, name: str,
                   text: Annotated[str, Form(max_length=500_000)],
                   action: Annotated[str, Form(max_length=10)] = "prova",
                   note: Annotated[str, Form(max_length=500)] = "",
                   csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_csrf(me, csrf)
        require(may_admin(me.person))
        if name not in admin_files.FILES:
            raise HTTPException(status_code=404)
        checked = admin_files.check(app.kommun, name, text)
        state: dict[str, object] = {"text": text, "note": note}
        if isinstance(checked, str):
            state["error"] = checked
            state["error_line"] = admin_files.error_line(checked, name)
        elif action == "spara":
            version = admin_files.save(session, app.kommun, name, text, me.person.actor,
                                       note, app.clock())
            state["ok"] = f"Sparat som version {version}."
            state.pop("text")
            state.pop("note")
        else:
            state["ok"] = "Inga fel."
            if isinstance(checked, RuleSet):
                live = load_rules(app.kommun.directory / "routing.yaml",
                                  app.kommun.organisation, app.kommun.routines.profiler)
                state["trial"] = admin_files.trial(session, app.kommun, app.classifier,
                                                   checked, live, ADMIN_TRIAL)
                state["ok"] = f"Inga fel: {len(checked.rules)} regler ({checked.version})."
        return _admin_page(request, session, me, {name: state})

    @routes.get("/admin/anvandare")
    def users_page(request: Request, session: Db, me: Who) -> Response:
        require(may_admin(me.person))
        return _users(request, session, me, None)

    @routes.post("/admin/anvandare")
    def users_put(request: Request, session: Db, me: Who,
                  email: Annotated[str, Form(max_length=320)],
                  role: Annotated[str, Form(max_length=20)],
                  password: Annotated[str, Form(max_length=1000)],
                  enhet: Annotated[str, Form(max_length=60)] = "",
                  csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_csrf(me, csrf)
        require(may_admin(me.person))
        try:
            user, created = put_user(session, app.kommun.organisation, email, role, enhet,
                                     password, me.person.actor, app.clock())
        except UserError as exc:  # the form keeps what was typed (not the password)
            return _users(request, session, me, str(exc),
                          {"email": email, "role": role, "enhet": enhet})
        return see_other(f"/admin/anvandare?klart={'Lade till' if created else 'Ändrade'} "
                         f"{user.email}.")

    @routes.post("/admin/anvandare/{user_id}/{what}")
    def users_toggle(session: Db, me: Who, user_id: RowId, what: str,
                     csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_csrf(me, csrf)
        require(may_admin(me.person) and user_id != me.person.id)
        try:
            set_active(session, user_id, what == "oppna", me.person.actor, app.clock())
        except UserError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        return see_other("/admin/anvandare?klart=Sparat.")

    def _users(request: Request, session: Session, me: Current, error: str | None,
               typed: dict[str, str] | None = None) -> Response:
        words = Words(app.kommun)
        return render(request, app, "users.html", me, nav="anvandare", error=error,
                      users=list(session.scalars(select(User).order_by(User.email))),
                      enheter=[e for _, _, e in app.kommun.organisation.enheter()],
                      enhet_name=words.enhet, typed=typed or {},
                      status_code=422 if error else 200)

    def _admin_page(request: Request, session: Session, me: Current,
                    states: dict[str, dict[str, object]]) -> Response:
        files = []
        for name in admin_files.FILES:
            state = states.get(name, {})
            current = (app.kommun.directory / name).read_text("utf-8")
            text = str(state.get("text", current))
            lines = text.splitlines() or [""]
            error_line = state.get("error_line")
            if isinstance(error_line, int):  # "at the end of the file": its last line
                error_line = min(error_line, len(lines))
            files.append({
                "name": name, "text": text, "error": state.get("error"),
                "error_line": error_line, "lines": len(lines), "note": state.get("note", ""),
                "error_text": lines[error_line - 1] if isinstance(error_line, int) else None,
                "ok": state.get("ok"), "trial": state.get("trial"),
                "summary": f"({len(current.splitlines())} rader)",
                "history": [{"version": v.version, "saved": views.local(v.saved_at),
                             "saved_by": v.saved_by.removeprefix("user:"), "note": v.note}
                            for v in admin_files.history(session, name)],
            })
        return render(request, app, "admin.html", me, nav="admin", files=files,
                      limit=ADMIN_TRIAL, enhet_name=Words(app.kommun).enhet,
                      status_code=422 if any(f["error"] for f in files) else 200)

    return routes
