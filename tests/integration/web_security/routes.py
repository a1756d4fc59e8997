"""The real app's routes as the security tests see them: public by decision
or behind a login, and what a request to each looks like."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from cases.models import Case, Event, Outbox, User
from tests.integration.test_web import CHEF_GATA, PASSWORD, Site

# Every route without a session: these, and no other. /login and /logout
# are the way in and out; /health is for the load balancer; /metrics answers
# loopback or its Bearer token; the SMS webhooks have the provider's own auth.
PUBLIC = {
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/health"),
    ("GET", "/metrics"), ("POST", "/sms/{provider}"), ("POST", "/sms/{provider}/status"),
    ("MOUNT", "/static"),
}
# Every route that needs a logged-in person.
PROTECTED = {
    ("GET", "/"), ("GET", "/inkorg"), ("GET", "/arenden"), ("GET", "/enhet"),
    ("POST", "/inkorg/bekrafta"), ("GET", "/arenden.{kind}"), ("GET", "/enhet.{kind}"),
    ("GET", "/cases/{case_id}"), ("GET", "/cases/{case_id}/bilagor/{index}"),
    ("POST", "/cases/{case_id}/correct"), ("POST", "/cases/{case_id}/note"),
    ("POST", "/cases/{case_id}/fel-enhet"), ("GET", "/inbound/{inbound_id}"),
    ("POST", "/inbound/{inbound_id}/reprocess"), ("GET", "/statistik"),
    ("POST", "/utskick/{outbox_id}/skicka-igen"), ("POST", "/utskick/{outbox_id}/kom-fram"),
    ("GET", "/statistik.{kind}"), ("GET", "/admin"), ("POST", "/admin/fil/{name}"),
    ("GET", "/admin/anvandare"), ("POST", "/admin/anvandare"),
    ("POST", "/admin/anvandare/{user_id}/{what}"), ("GET", "/registrera"),
    ("GET", "/cases/{case_id}/original"), ("POST", "/cases/{case_id}/handlaggare"),
    ("POST", "/registrera"),
}

def endpoints(app: object) -> set[tuple[str, str]]:
    """(method, path) for every route of the app, through included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[object]) -> None:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:  # FastAPI >= 0.16x: an included router
                for ctx in contexts():
                    found.update((m, ctx.path) for m in ctx.original_route.methods)
            elif hasattr(route, "methods") and route.methods:
                found.update((m, route.path)  # type: ignore[attr-defined]
                             for m in route.methods if m != "HEAD")
            elif hasattr(route, "routes") and getattr(route, "path", "") == "":
                walk(route.routes)
            else:
                found.add(("MOUNT", route.path))  # type: ignore[attr-defined]

    walk(app.router.routes)  # type: ignore[attr-defined]
    return found


def concrete(path: str, site: Site, case: str = "norr") -> str:
    """A route's path with real ids filled in."""
    with site.app.sessions() as session:
        user_id = session.scalar(select(User.id).where(User.email == CHEF_GATA))
        inbound_id = session.get_one(Case, site.cases[case]).inbound_id
        outbox_id = session.scalar(select(Outbox.id).where(Outbox.case_id == site.cases[case]))
    values = {"case_id": site.cases[case], "index": 0, "inbound_id": inbound_id, "kind": "csv",
              "name": "routing.yaml", "user_id": user_id, "what": "stang", "provider": "46elks",
              "outbox_id": outbox_id}
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def state(site: Site) -> tuple[object, ...]:
    """What a refused request must not change: the audit trail (logins aside),
    the cases, the users, the rules."""
    with site.app.sessions() as session:
        events = session.scalar(select(func.count()).select_from(Event).where(
            Event.kind != "user.logged_in"))
        cases = tuple(session.execute(select(Case.id, Case.status, Case.enhet, Case.category,
                                             Case.restricted).order_by(Case.id)).all())
        users = tuple(session.execute(select(User.email, User.role, User.active)
                                      .order_by(User.id)).all())
    return events, cases, users, (site.app.kommun.directory / "routing.yaml").read_text()


def form_for(path: str) -> dict[str, str]:
    """A well-formed body for each POST route, so only the check under test can refuse it."""
    if path.endswith("/correct"):
        return {"category": "berom", "enhet": "gata_park"}
    if path.endswith("/note"):
        return {"note": "en anteckning", "kind": "close"}
    if path == "/admin/fil/routing.yaml":
        return {"text": "rules: []\n", "action": "spara"}
    if path.endswith("/handlaggare"):
        return {"epost": "lars.oberg@ekby.example"}
    if path.endswith("/fel-enhet"):
        return {"note": "fel enhet"}
    if path == "/registrera":
        return {"kanal": "brev", "text": "Ett brev om snöröjningen.", "svar": "anonym"}
    if path == "/admin/anvandare":
        return {"email": "ny@ekby.example", "role": "admin", "password": PASSWORD * 2}
    return {}
