"""``synpunkt worker | listener | scheduler | health``: the production processes."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from types import FrameType

import click

from workers.app import App, LazyClassifier
from workers.cli.common import open_app
from workers.cli.output import echo_json, table
from workers.health import read_all
from workers.production import broker_and_actors, listeners, run_scheduler, run_worker

log = logging.getLogger(__name__)


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return stop


def verbose_logging() -> None:
    for name in ("workers", "ingest", "notify", "cases"):
        logging.getLogger(name).setLevel(min(logging.INFO, logging.getLogger().level))


def _production_app() -> App:
    verbose_logging()
    app = open_app()
    if not app.settings.redis_url:
        raise click.ClickException("SYNPUNKT_REDIS_URL måste vara satt för denna process")
    return app


def warm(app: App) -> None:
    """Load the classifier before taking messages from the queue."""
    if isinstance(app.classifier, LazyClassifier):
        app.classifier.warm()


@click.command()
@click.option("--threads", type=int, default=None,
              help="Arbetstrådar (standard: SYNPUNKT_WORKER_THREADS).")
def worker(threads: int | None) -> None:
    """Behandla meddelanden och skicka utskick från kön i Redis (dramatiq).
    SIGTERM gör klart meddelandena som är i arbete och avslutar."""
    app = _production_app()
    broker, _actors = broker_and_actors(app)
    warm(app)
    run_worker(broker, threads or app.settings.worker_threads, stop_on_signals(),
               app.settings.worker_poll_ms)


@click.command()
def listener() -> None:
    """Bevaka funktionsbrevlådan över IMAP (IDLE) och sms-leverantören, och
    lagra det som kommer in. Brevlådor anges i SYNPUNKT_IMAP_URL (flera
    separeras med mellanslag), sms-kontot i SYNPUNKT_SMS_PROVIDER m.fl."""
    app = _production_app()
    _broker, actors = broker_and_actors(app)
    stop = stop_on_signals()
    found = listeners(app, actors.process.send, stop)
    if not found:
        raise click.ClickException("SYNPUNKT_IMAP_URL och SYNPUNKT_SMS_PROVIDER saknas: "
                                   "ingen brevlåda och inget sms-konto att bevaka")
    threads = [threading.Thread(target=lst.run, name=f"listener-{i}", daemon=True)
               for i, lst in enumerate(found)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@click.command()
def scheduler() -> None:
    """Periodiska jobb: lägg tillbaka rader i kön vars köläggning gick förlorad."""
    app = _production_app()
    _broker, actors = broker_and_actors(app)
    run_scheduler(app, actors, stop_on_signals())


@click.command()
@click.option("--max-age", type=int, default=900, show_default=True,
              help="Sekunder sedan senaste lyckade kontroll innan en process räknas som tyst.")
@click.option("--json", "as_json", is_flag=True, help="En JSON-rad per process.")
def health(max_age: int, as_json: bool) -> None:
    """Visa när varje lyssnare och schemaläggare senast lyckades. Avslutar med
    kod 1 om någon har varit tyst längre än --max-age (för övervakning)."""
    app = open_app()
    now = app.clock()
    rows = read_all(app.settings.health_dir)
    stale = [h for h in rows
             if h.last_success is None or now - h.last_success > timedelta(seconds=max_age)]
    if as_json:
        for h in rows:
            echo_json({"name": h.name, "state": h.state, "last_success": h.last_success,
                       "updated": h.updated, "pid": h.pid, "detail": h.detail,
                       "stale": h in stale})
    elif rows:
        click.echo(table(["Process", "Läge", "Senast lyckad", "Detalj"],
                         [[h.name, h.state, h.last_success, h.detail] for h in rows],
                         widths=[50, 0, 0, 60]))
    else:
        click.echo("Inga hälsofiler ännu: ingen lyssnare eller schemaläggare har körts.")
    if stale or not rows:
        raise SystemExit(1)
