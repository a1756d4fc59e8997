"""Wiring of the production processes: listeners per mailbox, the dramatiq
worker, the scheduler. Each runs until its stop event is set."""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
from collections.abc import Callable
from typing import Any, Protocol

import dramatiq

from config.errors import PermanentError
from ingest.imap import ImapMailbox
from ingest.imapurl import ImapAccount, parse_imap_urls
from service.app import App, tls_context
from service.queues import queue_depth
from workers.actors import Actors, declare_actors, mark_dead
from workers.broker import make_broker
from workers.heartbeat import Pacemaker, heartbeat_of
from workers.listener import Listener, ListenerSettings
from workers.scheduler import Scheduler
from workers.sms_source import SmsPoller

log = logging.getLogger(__name__)
# How often an idle worker thread wakes (dramatiq wakes it every worker_timeout,
# our 100 ms poll, which was a fifth of an idle worker's CPU: benchmarks/idle.py).
IDLE_THREAD_WAKE_SECONDS = 1.0


def imap_accounts(app: App) -> list[ImapAccount]:
    s = app.settings
    return parse_imap_urls(s.imap_url, s.imap_processed_folder) if s.imap_url else []


def token_command(command: str) -> Callable[[ImapAccount], str]:
    """The XOAUTH2 refresh hook: run ``command`` for a fresh access token on each login."""
    def provide(account: ImapAccount) -> str:
        try:
            done = subprocess.run([*shlex.split(command), account.username], capture_output=True,
                                  text=True, timeout=60, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PermanentError(f"token-kommandot misslyckades: {type(exc).__name__}") from exc
        return done.stdout.strip()
    return provide


def mailbox(app: App, account: ImapAccount) -> ImapMailbox:
    s = app.settings
    provider = token_command(s.imap_oauth2_token_command) if s.imap_oauth2_token_command else None
    return ImapMailbox(account, ssl_context=tls_context(s), token_provider=provider)


class Runner(Protocol):
    def run(self) -> None: ...


def listeners(app: App, enqueue: Callable[[Any], None],
              stop: threading.Event) -> list[Runner]:
    """One IMAP listener per mailbox, and the SMS gateway's poller when one is set."""
    s = app.settings
    settings = ListenerSettings(batch=s.imap_batch, chunk=s.worker_batch,
                                idle_seconds=s.imap_idle_seconds,
                                poll_seconds=s.imap_poll_seconds,
                                max_backoff=s.imap_max_backoff_seconds,
                                min_sync_seconds=s.imap_min_sync_seconds)
    found: list[Runner] = [
        Listener(app, mailbox(app, account), enqueue, settings=settings, stop=stop)
        for account in imap_accounts(app)
    ]
    if app.gateway is not None:
        found.append(SmsPoller(app, app.gateway, enqueue, stop))
    return found


def broker_and_actors(app: App) -> tuple[dramatiq.Broker, Actors]:
    if not app.settings.redis_url:
        raise PermanentError("SYNPUNKT_REDIS_URL saknas")
    broker = make_broker(app.settings.redis_url,
                         lambda name, args, exc: mark_dead(app, name, args, exc))
    return broker, declare_actors(broker, app)


def start_worker(broker: dramatiq.Broker, threads: int, poll_ms: int) -> dramatiq.Worker:
    """dramatiq's worker, started: its consumers poll the ingest queue every
    ``poll_ms`` (workers.broker paces the others), its idle threads wake once
    a second only to see whether they are to stop (a message wakes one at once)."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=poll_ms)
    worker.start()
    for thread in getattr(worker, "workers", []):  # dramatiq's worker threads
        thread.timeout = IDLE_THREAD_WAKE_SECONDS
    return worker


def run_worker(app: App, broker: dramatiq.Broker, threads: int, stop: threading.Event,
               poll_ms: int = 100) -> None:
    worker = start_worker(broker, threads, poll_ms)
    log.info("worker started threads=%s", threads)
    pacemaker = Pacemaker(heartbeat_of(app, "worker", "worker"), lambda: worker_state(worker), stop)
    pacemaker.start()
    stop.wait()
    log.info("worker stopping: finishing the messages in hand")
    worker.stop(timeout=60_000)
    pacemaker.join(timeout=10)
    log.info("worker stopped")


def worker_state(worker: dramatiq.Worker) -> tuple[str, str]:
    """Running while each of dramatiq's consumer and worker threads lives."""
    consumers = list(getattr(worker, "consumers", {}).values())
    threads = list(getattr(worker, "workers", []))
    alive = sum(t.is_alive() for t in threads)
    if alive < len(threads) or not all(c.is_alive() for c in consumers):
        return "degraded", f"{alive} av {len(threads)} arbetstrådar lever"
    return "running", f"{alive} arbetstrådar"


def run_scheduler(app: App, actors: Actors, stop: threading.Event) -> None:
    redis_url = app.settings.redis_url

    def waiting() -> dict[str, int]:
        return queue_depth(redis_url) if redis_url else {}

    Scheduler(app, actors.process.send, actors.deliver.send, waiting, stop).run()
