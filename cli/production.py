"""``synpunkt worker | listener | scheduler | health``: the production processes."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from types import FrameType

import click

from cases import heartbeats
from cli.common import open_app
from cli.errors import UnknownIdError
from cli.output import echo_json, table
from cli.params import Whole
from config.layers import PACKAGES
from routing.reload import RulesRouter
from service.app import App, LazyClassifier
from service.health import ROLE_NAMES, Loop, Verdict, assess

log = logging.getLogger(__name__)
# A process's state (workers/) as `synpunkt health` says it to a person.
STATE_WORDS = {"starting": "startar", "running": "kör", "polling": "hämtar", "connected":
               "ansluten", "reconnecting": "ansluter igen", "retrying": "försöker igen",
               "refused": "nekad", "stopped": "stoppad"}


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return stop


def verbose_logging() -> None:
    for name in PACKAGES:
        logging.getLogger(name).setLevel(min(logging.INFO, logging.getLogger().level))


def _production_app() -> App:
    verbose_logging()
    app = open_app()
    if not app.settings.redis_url:
        raise click.ClickException("SYNPUNKT_REDIS_URL måste vara satt för denna process")
    return app


def warm(app: App) -> None:
    """Load the classifier, make the routing rules whole and read the days
    off before taking messages from the queue."""
    from deadlines import calendar

    calendar.warm(app.clock().date())
    if isinstance(app.classifier, LazyClassifier):
        app.classifier.warm()
    if isinstance(app.router, RulesRouter):
        app.router.warm()


@click.command()
@click.option("--threads", type=Whole(low=1), default=None, metavar="N",
              help="Arbetstrådar (standard: SYNPUNKT_WORKER_THREADS).")
def worker(threads: int | None) -> None:
    """Behandla meddelanden och skicka utskick från kön i Redis (dramatiq).
    SIGTERM gör klart meddelandena som är i arbete och avslutar."""
    app = _production_app()
    from workers.production import broker_and_actors, run_worker  # dramatiq: only here

    broker, _actors = broker_and_actors(app)
    warm(app)
    run_worker(app, broker, threads or app.settings.worker_threads, stop_on_signals(),
               app.settings.worker_poll_ms)


@click.command()
def listener() -> None:
    """Bevaka funktionsbrevlådan över IMAP (IDLE) och sms-leverantören, och
    lagra det som kommer in. Brevlådor anges i SYNPUNKT_IMAP_URL (flera
    separeras med mellanslag), sms-kontot i SYNPUNKT_SMS_PROVIDER m.fl."""
    from workers.production import broker_and_actors, listeners

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
    from workers.production import broker_and_actors, run_scheduler

    _broker, actors = broker_and_actors(app)
    run_scheduler(app, actors, stop_on_signals())


@click.command()
@click.option("--forget", "forget_id", metavar="ID",
              help="Glöm en process som har tagits ur drift med avsikt (id:t som visas).")
@click.option("--json", "as_json", is_flag=True,
              help="Ett JSON-objekt: ok, varje process, utkorgens siffror och problemen.")
def health(forget_id: str | None, as_json: bool) -> None:
    """Fungerar Synpunkt? Visar varje process (lyssnare per brevlåda, arbetare,
    schemaläggare, webb) med dess senaste livstecken, och utskick som har
    fastnat eller är osäkra. Avslutar med kod 1 när något är fel: en process
    har tystnat eller stoppats, en lyssnare har varit utan förbindelse längre
    än den borde, en process som behövs saknas, eller utkorgen behöver en
    människa. För övervakning (cron, Nagios, systemd)."""
    app = open_app()
    if forget_id is not None:
        _forget(app, forget_id)
        return
    with app.sessions() as session:
        verdict = assess(session, app.settings, app.clock())
    if as_json:
        echo_json({"ok": verdict.ok, "problems": list(verdict.problems),
                   "outbox": {"sending_past_lease": verdict.sending_past_lease,
                              "uncertain": verdict.uncertain},
                   "processes": [_loop_json(x) for x in verdict.loops]})
    else:
        _print_verdict(verdict, app.clock())
    if not verdict.ok:
        raise SystemExit(1)


def _forget(app: App, forget_id: str) -> None:
    with app.sessions.begin() as session:
        found = heartbeats.forget(session, forget_id)
    if len(found) != 1 or len(forget_id) < 4:
        raise UnknownIdError(
            f"'{forget_id}' pekar ut {len(found)} processer; ange minst fyra tecken av ett id "
            "som `synpunkt health` visar")
    click.echo(f"Processen {found[0][:12]} är glömd.")


def _loop_json(loop: Loop) -> dict[str, object]:
    return {"id": loop.id, "role": loop.role, "name": loop.name, "host": loop.host,
            "pid": loop.pid, "state": loop.state, "detail": loop.detail,
            "started_at": loop.started_at, "beat_at": loop.beat_at,
            "last_success_at": loop.last_success_at, "down_since": loop.down_since,
            "ok": loop.problem is None, "problem": loop.problem}


def _print_verdict(verdict: Verdict, now: datetime) -> None:
    def ago(at: datetime | None) -> str:
        return "–" if at is None else f"{int((now - at).total_seconds())} s sedan"

    if verdict.loops:
        click.echo(table(
            ["Id", "Process", "Värd", "Pid", "Läge", "Livstecken", "Senast lyckad", ""],
            [[x.id[:8], f"{ROLE_NAMES.get(x.role, x.role)} {x.name if x.name != x.role else ''}",
              x.host, x.pid, STATE_WORDS.get(x.state, x.state), ago(x.beat_at),
              ago(x.last_success_at),
              "fel" if x.problem else "ok"] for x in verdict.loops],
            widths=[0, 50, 30, 0, 0, 0, 0, 0]))
    else:
        click.echo("Ingen process har rapporterat ännu.")
    click.echo(f"Utkorgen: {verdict.sending_past_lease} har fastnat, "
               f"{verdict.uncertain} osäkra.")
    if verdict.ok:
        click.echo("Allt fungerar.")
    for problem in verdict.problems:
        click.echo(f"FEL: {problem}")
