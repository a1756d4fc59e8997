"""The FastAPI application, built once per process from the App."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from review import (
    admin_pages,
    assign,
    by_hand,
    deidentified,
    errors,
    inbound_pages,
    lists,
    login,
    pages,
    sms,
    stats_pages,
)
from review.identity import IdentityProvider, PasswordIdentity
from review.metrics import allowed, exposition
from review.web import LoginRequiredError, security_headers, see_other
from service.app import App
from service.health import assess
from service.queues import queue_depth

Enqueue = Callable[[int], None]


def create_app(app: App, enqueue: Enqueue,
               identity: IdentityProvider | None = None) -> FastAPI:
    """``enqueue`` hands a stored inbound id to the workers (dramatiq in
    production; a no-op in the embedded mode, whose loop finds the row).
    ``identity`` is the seam for the kommun's login (passwords by default)."""
    web = FastAPI(title="Synpunkt", docs_url=None, redoc_url=None, openapi_url=None)
    web.state.synpunkt = app  # review.web.app_of: the pages' dependencies find it here
    web.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    web.include_router(sms.router(app, enqueue))
    web.include_router(login.router(app, identity or PasswordIdentity()))
    web.include_router(pages.router(app, enqueue))
    web.include_router(lists.router(app))
    web.include_router(by_hand.router(app))
    web.include_router(deidentified.router(app))
    web.include_router(assign.router(app))
    web.include_router(stats_pages.router(app))
    web.include_router(admin_pages.router(app))
    web.include_router(inbound_pages.router(app))

    errors.install(web, app)

    @web.exception_handler(LoginRequiredError)
    async def to_login(_request: Request, _exc: LoginRequiredError) -> Response:
        return see_other("/login")

    @web.middleware("http")
    async def headers(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        security_headers(response)
        return response

    @web.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Prometheus: loopback only, or with SYNPUNKT_METRICS_TOKEN as a Bearer token."""
        client = request.client.host if request.client else None
        if not allowed(client, request.headers.get("authorization"),
                       app.settings.metrics_token):
            return Response(status_code=403)
        body = await run_in_threadpool(_exposition, app)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @web.get("/health")
    async def health() -> JSONResponse:
        """200 when the case register answers; 503 otherwise (for a load balancer)."""
        try:
            await run_in_threadpool(_ping, app)
        except Exception as exc:
            return JSONResponse({"status": "fel", "database": type(exc).__name__},
                                status_code=503)
        return JSONResponse({"status": "ok", "sms": app.gateway.name if app.gateway else None})

    return web


def _exposition(app: App) -> str:
    depth = None
    if app.settings.redis_url:
        try:
            depth = queue_depth(app.settings.redis_url)
        except Exception:  # Redis away: the rest of the metrics still answer
            depth = None
    with app.sessions() as session:
        now = app.clock()
        return exposition(session, now, depth, assess(session, app.settings, now))


def _ping(app: App) -> None:
    with app.engine.connect() as conn:
        conn.execute(text("select 1"))
