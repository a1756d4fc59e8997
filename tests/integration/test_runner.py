"""The four long-running loops share one runner (workers/runner.py), and an
unexpected error in any of them (a bug, here put into one round) is logged
once with its traceback, without the exception's message or anything a
citizen wrote, and the loop goes on to do its work. Each loop runs with the
settings users run, against real servers where it has one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cases.migrate import upgrade
from cases.models import Heartbeat, Inbound
from config.settings import Settings
from ingest.imap import ImapMailbox
from ingest.imapurl import parse_imap_url
from service.app import App, build_app
from tests.harness.dovecot import Dovecot
from tests.harness.sms.elks import ElksEmulator
from tests.support import FIXTURES
from workers import embedded, listener, scheduler, sms_source
from workers.embedded import EmbeddedRun
from workers.listener import Listener
from workers.runner import Runner
from workers.scheduler import Scheduler
from workers.sms_source import SmsPoller

SECRET = "Hej, jag heter Karin Holm, karin.holm@example.se, 070-123 45 67"
USER, PASSWORD = "synpunkter@ekby.example", "hemligt"
MAIL = (FIXTURES / "03_sophamtning_uteblir.eml").read_bytes()


def test_the_four_loops_share_one_runner() -> None:
    for loop in (Listener, SmsPoller, Scheduler, EmbeddedRun):
        assert issubclass(loop, Runner)
        assert "run" not in vars(loop)  # the loop itself is the runner's


class Bug:
    """A round's function that fails once, as a bug would, then works."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            return {}[SECRET]  # a KeyError whose message is a citizen's text
        return self.real(*args, **kwargs)


def _app(tmp_path: Path, **settings: Any) -> App:
    app = build_app(Settings(home=tmp_path / "home", **settings))
    upgrade(app.engine)
    return app


def _run(loop: Runner, done: Callable[[], bool], seconds: float) -> None:
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    try:
        while not done():
            assert time.monotonic() < deadline, "the loop did not go on after the error"
            assert thread.is_alive(), "the loop died"
            time.sleep(0.1)
    finally:
        loop.stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def _succeeded_after_failing(app: App, role: str) -> Callable[[], bool]:
    def done() -> bool:
        with app.sessions() as session:
            row = session.scalar(select(Heartbeat).where(Heartbeat.role == role))
        return row is not None and row.last_success_at is not None and row.down_since is None \
            and row.state not in ("starting", "retrying")
    return done


def _assert_logged_once_and_clean(caplog: pytest.LogCaptureFixture, where: str) -> None:
    unexpected = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert len(unexpected) == 1, [r.getMessage() for r in unexpected]
    text = unexpected[0].getMessage()
    assert "Traceback (most recent call last)" in text and "builtins.KeyError" in text
    assert f"in {where}" in text or "in __call__" in text
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("karin.holm@example.se", "Karin Holm", "070-123 45 67", "jag heter"):
        assert secret not in everything


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    server = Dovecot(tmp_path / "dovecot")
    server.add_user(USER, PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_the_listener_logs_a_bug_once_and_goes_on(tmp_path: Path, dovecot: Dovecot,
                                                  caplog: pytest.LogCaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)
    app = _app(tmp_path)
    dovecot.append(USER, PASSWORD, MAIL)
    box = ImapMailbox(parse_imap_url(dovecot.url(USER, PASSWORD, tls=True)),
                      ssl_context=dovecot.ssl_context())
    loop = Listener(app, box, lambda _inbound_id: None)
    bug = Bug(listener.checkpoints.load)
    monkeypatch.setattr(listener.checkpoints, "load", bug)

    def stored() -> bool:
        with app.sessions() as session:
            return (session.scalar(select(func.count(Inbound.id))) or 0) == 1
    _run(loop, stored, 60)
    assert bug.calls >= 2
    _assert_logged_once_and_clean(caplog, "sync")


def test_the_sms_poller_logs_a_bug_once_and_goes_on(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)
    with ElksEmulator(username="u", password="p", number="+46700000100") as gateway:
        app = _app(tmp_path, sms_provider="46elks", sms_api_url=gateway.api_url,
                   sms_username="u", sms_password="p")
        assert app.gateway is not None
        bug = Bug(sms_source.poll)
        monkeypatch.setattr(sms_source, "poll", bug)
        loop = SmsPoller(app, app.gateway, lambda _inbound_id: None)
        _run(loop, _succeeded_after_failing(app, "sms"), 60)
    assert bug.calls == 2  # failed, backed off, polled; then waits its minute
    _assert_logged_once_and_clean(caplog, "do_round")


@pytest.mark.long(seconds=32)
def test_the_scheduler_logs_a_bug_once_and_goes_on(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default SYNPUNKT_SWEEP_SECONDS (30 s) between the rounds."""
    caplog.set_level(logging.INFO)
    app = _app(tmp_path)
    bug = Bug(scheduler.sweep)
    monkeypatch.setattr(scheduler, "sweep", bug)
    loop = Scheduler(app, lambda _i: None, lambda _i: None, dict)
    _run(loop, _succeeded_after_failing(app, "scheduler"), 60)
    assert bug.calls == 2
    _assert_logged_once_and_clean(caplog, "do_round")


def test_the_embedded_run_logs_a_bug_once_and_goes_on(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)
    app = _app(tmp_path)
    bug = Bug(embedded.run_once)
    monkeypatch.setattr(embedded, "run_once", bug)
    loop = EmbeddedRun(app)
    _run(loop, _succeeded_after_failing(app, "run"), 60)
    assert bug.calls == 2
    _assert_logged_once_and_clean(caplog, "do_round")
