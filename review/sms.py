"""The SMS gateways' webhooks: an incoming SMS and a delivery report.

An incoming SMS is answered 2xx only once it is stored (committed): the
gateway retries anything else, and the poll catches what it never delivers.
The answer has no body: 46elks would send a body back to the citizen as a
reply SMS, Twilio gets empty TwiML.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ingest.sms.gateway import (
    BadWebhookError,
    DeliveryReport,
    Gateway,
    WebhookRefusedError,
    WebhookRequest,
)
from notify.outbox import record_delivery
from service import sms_intake
from service.app import App

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # an SMS webhook is a few hundred bytes
T = TypeVar("T")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def router(app: App, enqueue: Callable[[int], None]) -> APIRouter:
    routes = APIRouter(prefix="/sms")

    @routes.post("/{provider}")
    async def incoming(provider: str, request: Request) -> Response:
        read = await _read(app, provider, request,
                           lambda gateway, hook: gateway.parse_webhook(hook, app.clock()))
        if isinstance(read, Response):
            return read
        gateway, record = read
        try:
            await run_in_threadpool(sms_intake.receive, app, record, enqueue)
        except Exception as exc:  # not stored: the gateway must try again
            log.error("sms webhook not stored provider=%s error=%s", provider,
                      type(exc).__name__)
            return Response(status_code=503)
        if gateway.name == "twilio":
            return Response(EMPTY_TWIML, media_type="text/xml")
        return Response(status_code=204)

    @routes.post("/{provider}/status")
    async def delivery_report(provider: str, request: Request) -> Response:
        read = await _read(app, provider, request,
                           lambda gateway, hook: gateway.parse_status(hook))
        if isinstance(read, Response):
            return read
        _gateway_used, report = read
        try:
            await run_in_threadpool(_record, app, report)
        except Exception as exc:
            log.error("delivery report not stored error=%s", type(exc).__name__)
            return Response(status_code=503)
        return Response(status_code=204)

    return routes


def _record(app: App, report: DeliveryReport) -> None:
    with app.sessions.begin() as session:
        record_delivery(session, report, app.clock())


async def _read(app: App, provider: str, request: Request,
                parse: Callable[[Gateway, WebhookRequest], T]) -> tuple[Gateway, T] | Response:
    """The gateway's parsed request, or the answer to give: 404 for another
    provider, 413 for a body too large, 401 when not authenticated, 400 when
    it cannot be read."""
    gateway = _gateway(app, provider)
    if gateway is None:
        return Response(status_code=404)
    hook = await _webhook(app, request)
    if isinstance(hook, Response):
        return hook
    try:
        return gateway, parse(gateway, hook)
    except WebhookRefusedError:
        log.warning("sms webhook refused provider=%s", provider)
        return _refused()
    except BadWebhookError as exc:
        return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")


def _gateway(app: App, provider: str) -> Gateway | None:
    gateway = app.gateway
    return gateway if gateway is not None and gateway.name == provider else None


async def _webhook(app: App, request: Request) -> WebhookRequest | Response:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        return Response(status_code=413)
    body = await request.body()
    if len(body) > MAX_BODY:
        return Response(status_code=413)
    form = await request.form()
    fields = tuple((k, v) for k, v in form.multi_items() if isinstance(v, str))
    return WebhookRequest(_called_url(app, request), {k.lower(): v for k, v in
                                                      request.headers.items()}, fields)


def _called_url(app: App, request: Request) -> str:
    """The URL the gateway called: behind a proxy the public one (Twilio signs it)."""
    public = app.settings.public_url
    if not public:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public.rstrip("/") + request.url.path + query


def _refused() -> Response:
    return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="synpunkt"'})
