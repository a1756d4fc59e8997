"""``synpunkt web``: the web application: the registrator's, chefs' and admins' pages,
the SMS webhooks, /health and /metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable

import click

from cli.common import open_app
from cli.params import Whole
from cli.production import verbose_logging
from service.app import App
from workers.heartbeat import Pacemaker, heartbeat_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Adress att lyssna på (0.0.0.0 för alla).")
@click.option("--port", type=Whole(low=1), default=8000, metavar="PORT", show_default=True,
              help="Port att lyssna på.")
def web(host: str, port: int) -> None:
    """Kör webbapplikationen: sms-leverantörens webhooks (/sms/46elks eller
    /sms/twilio, leveransrapporter på /sms/LEVERANTÖR/status) och /health.
    Med SYNPUNKT_REDIS_URL läggs nya sms i arbetarnas kö; annars tar
    `synpunkt run` dem vid nästa varv."""
    import uvicorn

    from review.app import create_app

    verbose_logging()
    app = open_app()
    enqueue = _enqueue(app)
    click.echo(f"Synpunkt webb på http://{host}:{port}/ (Ctrl-C avslutar)", err=True)
    stop = threading.Event()
    pacemaker = Pacemaker(heartbeat_of(app, "web", f"{host}:{port}"), lambda: ("running", ""), stop)
    pacemaker.start()
    try:
        uvicorn.run(create_app(app, enqueue), host=host, port=port, log_level="warning",
                    access_log=False, proxy_headers=True, server_header=False)
    finally:
        stop.set()
        pacemaker.join(timeout=5)


def _enqueue(app: App) -> Callable[[int], None]:
    """The workers' queue in production; nothing in the embedded mode."""
    if not app.settings.redis_url:
        return lambda _inbound_id: None
    from workers.production import broker_and_actors

    _broker, actors = broker_and_actors(app)
    send: Callable[[int], None] = actors.process.send
    return send
