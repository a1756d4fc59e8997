"""The FastAPI application, built once per process from the App."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from review import sms
from workers.app import App

Enqueue = Callable[[int], None]


def create_app(app: App, enqueue: Enqueue) -> FastAPI:
    """``enqueue`` hands a stored inbound id to the workers (dramatiq in
    production; a no-op in the embedded mode, whose loop finds the row)."""
    web = FastAPI(title="Synpunkt", docs_url=None, redoc_url=None, openapi_url=None)
    web.include_router(sms.router(app, enqueue))

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


def _ping(app: App) -> None:
    with app.engine.connect() as conn:
        conn.execute(text("select 1"))
