"""The IMAP listener in-process against a private Dovecot: TLS, checkpoints,
UIDVALIDITY changes, the keyword fallback, reconnects and the heartbeat."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases.migrate import upgrade
from cases.models import Heartbeat, ImapCheckpoint, Inbound
from config.settings import Settings
from ingest.imap import STORED_KEYWORD, ImapMailbox
from ingest.imapurl import parse_imap_url
from service.app import App, build_app
from tests.harness.dovecot import Dovecot
from tests.support import FIXTURES, run_cli
from workers.listener import Listener, ListenerSettings

USER, PASSWORD = "synpunkter@ekby.example", "lösenord-med-å"
MAIL = (FIXTURES / "03_sophamtning_uteblir.eml").read_bytes()


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    server = Dovecot(tmp_path / "dovecot")
    server.add_user(USER, "ascii-pw")
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def app(tmp_path: Path) -> App:
    built = build_app(Settings(home=tmp_path / "home"))
    upgrade(built.engine)
    return built


def _mail(i: int) -> bytes:
    return MAIL.replace(b"Message-ID: <", f"Message-ID: <l{i}.".encode(), 1)


def _listener(app: App, dovecot: Dovecot, url: str, enqueued: list[int],
              **settings: float) -> Listener:
    account = parse_imap_url(url)
    box = ImapMailbox(account, ssl_context=dovecot.ssl_context())
    return Listener(app, box, enqueued.extend, settings=ListenerSettings(**settings))


def _inbound_count(app: App) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count(Inbound.id))) or 0


def test_imaps_sync_stores_commits_then_moves(app: App, dovecot: Dovecot) -> None:
    for i in range(7):
        dovecot.append(USER, "ascii-pw", _mail(i))
    enqueued: list[list[int]] = []
    listener = _listener(app, dovecot, dovecot.url(USER, "ascii-pw", tls=True), [],
                         batch=4, chunk=3)
    listener.enqueue = enqueued.append
    listener.mailbox.connect()
    assert listener.sync() == [1, 2, 3, 4, 5, 6, 7]
    # each fetch's ids go to the workers in even chunks, after its commit
    assert enqueued == [[1, 2], [3, 4], [5, 6, 7]]
    assert listener.sync() == []
    listener.mailbox.close()
    assert dovecot.count(USER, "ascii-pw", "INBOX") == 0
    assert dovecot.count(USER, "ascii-pw", dovecot.processed_folder) == 7
    stored = dovecot.fetch_all(USER, "ascii-pw", dovecot.processed_folder)
    with app.sessions() as session:
        raws = session.scalars(select(Inbound.raw).order_by(Inbound.id)).all()
        checkpoint = session.get_one(ImapCheckpoint, listener.source)
    assert sorted(raws) == sorted(stored)  # byte for byte what the server holds
    assert checkpoint.last_uid == 7


def test_stored_but_not_moved_is_only_moved(app: App, dovecot: Dovecot) -> None:
    """A crash after the commit and before the move."""
    dovecot.append(USER, "ascii-pw", _mail(1))
    enqueued: list[int] = []
    listener = _listener(app, dovecot, dovecot.url(USER, "ascii-pw"), enqueued)
    listener.mailbox.connect()
    listener.mailbox.mark_stored = lambda uids: None  # type: ignore[method-assign]
    listener.sync()
    assert dovecot.count(USER, "ascii-pw", "INBOX") == 1
    listener.mailbox.close()
    again = _listener(app, dovecot, dovecot.url(USER, "ascii-pw"), enqueued)
    again.mailbox.connect()
    assert again.sync() == []
    assert _inbound_count(app) == 1
    assert dovecot.count(USER, "ascii-pw", "INBOX") == 0
    again.mailbox.close()


def test_uidvalidity_change_rescans_without_reimporting(app: App, dovecot: Dovecot) -> None:
    dovecot.append(USER, "ascii-pw", _mail(1))
    enqueued: list[int] = []
    listener = _listener(app, dovecot, dovecot.url(USER, "ascii-pw"), enqueued)
    listener.mailbox.connect()
    listener.mailbox.mark_stored = lambda uids: None  # type: ignore[method-assign]
    listener.sync()
    listener.mailbox.close()
    with app.sessions.begin() as session:  # as if the server rebuilt its UIDs
        session.get_one(ImapCheckpoint, listener.source).uidvalidity = 1
    dovecot.append(USER, "ascii-pw", _mail(2))
    again = _listener(app, dovecot, dovecot.url(USER, "ascii-pw"), enqueued)
    again.mailbox.connect()
    assert len(again.sync()) == 1  # only the new one; the old one is recognised
    assert _inbound_count(app) == 2
    again.mailbox.close()


def test_keyword_where_move_is_not_used(app: App, dovecot: Dovecot) -> None:
    dovecot.append(USER, "ascii-pw", _mail(1))
    url = dovecot.url(USER, "ascii-pw") + "?processed="
    enqueued: list[int] = []
    listener = _listener(app, dovecot, url, enqueued)
    listener.mailbox.connect()
    assert not listener.mailbox.can_move
    assert len(listener.sync()) == 1
    assert listener.sync() == []
    flags = listener.mailbox.client.get_flags(listener.mailbox.client.search(["ALL"]))
    listener.mailbox.close()
    assert all(STORED_KEYWORD.encode() in f for f in flags.values())
    assert dovecot.count(USER, "ascii-pw", "INBOX") == 1


def test_utf8_password_logs_in(app: App, dovecot: Dovecot) -> None:
    dovecot.add_user(USER, PASSWORD)
    listener = _listener(app, dovecot, dovecot.url(USER, PASSWORD), [])
    listener.mailbox.connect()
    assert listener.mailbox.uidvalidity > 0
    listener.mailbox.close()


def test_run_idles_reconnects_after_restart_and_reports_health(
        app: App, dovecot: Dovecot) -> None:
    enqueued: list[int] = []
    stop = threading.Event()
    listener = _listener(app, dovecot, dovecot.url(USER, "ascii-pw"), enqueued,
                         idle_seconds=30, max_backoff=1)
    listener.stop = stop
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: listener.state == "idle")
        dovecot.append(USER, "ascii-pw", _mail(1))
        _wait(lambda: len(enqueued) == 1)
        dovecot.restart()
        _wait(lambda: listener.state == "idle" and len(enqueued) == 1)
        dovecot.append(USER, "ascii-pw", _mail(2))
        _wait(lambda: len(enqueued) == 2)
        beat = _heartbeat(app, listener)
        assert beat.state == "idle"
        assert beat.last_success_at is not None
        assert beat.down_since is None
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert _heartbeat(app, listener).state == "stopped"


def _heartbeat(app: App, listener: Listener) -> Heartbeat:
    with app.sessions() as session:
        return session.get_one(Heartbeat, listener.heartbeat.id)


def test_mail_arriving_during_a_sync_is_not_left_until_the_next_idle(
        app: App, dovecot: Dovecot) -> None:
    """The server announces new mail once, at the next command: mail that
    came while the listener fetched and moved would otherwise wait in INBOX
    for the next mail or the IDLE re-issue (here 600 s)."""
    enqueued: list[int] = []

    def enqueue(inbound_ids: list[int]) -> None:
        enqueued.extend(inbound_ids)
        if len(enqueued) == 1:  # in the middle of the first sync
            dovecot.append(USER, "ascii-pw", _mail(2))

    stop = threading.Event()
    listener = _listener(app, dovecot, dovecot.url(USER, "ascii-pw"), [], idle_seconds=600)
    listener.enqueue, listener.stop = enqueue, stop
    dovecot.append(USER, "ascii-pw", _mail(1))
    _run_until(listener, stop, lambda: len(enqueued) == 2, timeout=10)


@pytest.mark.parametrize("tls", [False, True], ids=["imap", "imaps"])
def test_mail_arriving_just_before_idle_begins_is_fetched_at_once(
        app: App, dovecot: Dovecot, tls: bool) -> None:
    """Mail that arrives after the last sync's commands but before IDLE is
    announced when IDLE begins, in the same packet as the server's "+ idling":
    the client library reads both lines into its buffer, so the socket never
    turns readable for it. Found by CI, where a mail waited for the re-issue."""
    enqueued: list[int] = []
    stop = threading.Event()
    listener = _listener(app, dovecot, dovecot.url(USER, "ascii-pw", tls=tls), enqueued,
                         idle_seconds=600)
    listener.stop = stop
    box = listener.mailbox
    plain_wait = box.wait
    waits: list[float] = []

    def wait_after_a_mail(seconds: float, *args: object, **kwargs: object) -> bool:
        if not waits:  # the first IDLE: a mail lands between the sync and IDLE
            dovecot.append(USER, "ascii-pw", _mail(2))
        waits.append(time.monotonic())
        return plain_wait(seconds, *args, **kwargs)  # type: ignore[arg-type]

    box.wait = wait_after_a_mail  # type: ignore[method-assign]
    dovecot.append(USER, "ascii-pw", _mail(1))
    _run_until(listener, stop, lambda: len(enqueued) == 2, timeout=10)


def test_a_steady_stream_is_fetched_in_few_syncs_and_a_lone_mail_at_once(
        app: App, dovecot: Dovecot) -> None:
    """Syncs are spaced by min_sync_seconds, so a stream of mail is fetched and
    moved a second's worth at a time (a Maildir server pays for each MOVE by
    the size of the destination folder); a mail after a quiet spell is not
    held back."""
    spacing = 1.5
    enqueued: list[int] = []
    synced: list[int] = []
    starts: list[float] = []
    stop = threading.Event()
    listener = _listener(app, dovecot, dovecot.url(USER, "ascii-pw"), enqueued,
                         idle_seconds=600, min_sync_seconds=spacing)
    listener.stop = stop
    plain_sync = listener.sync

    def counted_sync() -> list[int]:
        starts.append(time.monotonic())
        created = plain_sync()
        if created:
            synced.append(len(created))
        return created

    listener.sync = counted_sync  # type: ignore[method-assign]
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: listener.state == "idle")
        time.sleep(spacing + 0.1)  # a quiet spell
        began = time.monotonic()
        dovecot.append(USER, "ascii-pw", _mail(0))
        _wait(lambda: len(enqueued) == 1)
        assert time.monotonic() - began < spacing - 0.3  # not held back
        stream = 40
        began = time.monotonic()
        for i in range(1, stream + 1):  # about 20 a second for 2 s
            dovecot.append(USER, "ascii-pw", _mail(i))
            time.sleep(max(0.0, began + i / 20 - time.monotonic()))
        streamed = time.monotonic() - began
        _wait(lambda: len(enqueued) == stream + 1)
    finally:
        stop.set()
        thread.join(30)
    assert sum(synced) == stream + 1
    gaps = [b - a for a, b in pairwise(starts)]
    assert min(gaps) >= spacing - 0.05, gaps
    # one sync for the lone mail, then at most one per spacing (and one after)
    assert len(synced) <= 1 + streamed / spacing + 2, synced


def test_wrong_password_backs_off_and_health_says_so(tmp_path: Path, dovecot: Dovecot) -> None:
    home = tmp_path / "h"
    env = {"SYNPUNKT_IMAP_URL": dovecot.url(USER, "fel"), "SYNPUNKT_REDIS_URL": "redis://x"}
    run_cli("db", "upgrade", home=home, env=env)
    app = build_app(Settings(home=home))
    stop = threading.Event()
    listener = _listener(app, dovecot, dovecot.url(USER, "fel"), [], max_backoff=0.5)
    listener.stop = stop
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: listener.state == "refused")
        proc = run_cli("health", "--json", home=home, env=env, check=False)
    finally:
        stop.set()
        thread.join(30)
    assert proc.returncode == 1  # refused at once: monitoring sees it
    report = json.loads(proc.stdout)
    [mine] = [p for p in report["processes"] if p["role"] == "listener"]
    assert mine["state"] == "refused"
    assert "inloggningen nekades" in mine["problem"]


def _run_until(listener: Listener, stop: threading.Event, predicate: object,
               timeout: float) -> None:
    """Run ``listener`` in a thread until ``predicate()`` holds (or time is up)."""
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        _wait(predicate, timeout=timeout)
    finally:
        stop.set()
        thread.join(30)


def _wait(predicate: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")



def test_starttls_on_the_plain_port(app: App, dovecot: Dovecot) -> None:
    dovecot.append(USER, "ascii-pw", _mail(1))
    url = dovecot.url(USER, "ascii-pw") + "?starttls=yes"
    listener = _listener(app, dovecot, url, [])
    assert listener.mailbox.account.starttls
    listener.mailbox.connect()
    assert listener.mailbox.client._imap.sock.version()  # a TLS socket after STARTTLS
    assert len(listener.sync()) == 1
    listener.mailbox.close()


def test_several_mailboxes_each_with_its_own_checkpoint(tmp_path: Path, dovecot: Dovecot) -> None:
    other = "felanmalan@ekby.example"
    dovecot.add_user(other, "pw2")
    dovecot.append(USER, "ascii-pw", _mail(1))
    dovecot.append(other, "pw2", _mail(2))
    dovecot.append(other, "pw2", _mail(3))
    home = tmp_path / "multi"
    env = {"SYNPUNKT_IMAP_URL": f"{dovecot.url(USER, 'ascii-pw')} {dovecot.url(other, 'pw2')}"}
    summary = json.loads(run_cli("run", "--once", "--json", home=home, env=env).stdout)
    assert summary["stored"] == 3
    app = build_app(Settings(home=home))
    with app.sessions() as session:
        rows = session.execute(select(ImapCheckpoint.source, ImapCheckpoint.last_uid))
        marks = {source: uid for source, uid in rows}
    assert marks == {f"imap:{USER}@127.0.0.1/INBOX": 1, f"imap:{other}@127.0.0.1/INBOX": 2}


class _Introspection(BaseHTTPRequestHandler):
    """Microsoft Graph's /me, as Dovecot's oauth2 passdb asks it: the token is
    valid when it is the one the token command printed."""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") == "Bearer eyJ0eXAiOiJKV1Qi.token-fran-entra":
            body, code = json.dumps({"mail": USER}).encode(), 200
        else:
            body, code = b'{"error": "invalid_token"}', 401
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_xoauth2_login_with_the_token_hook(tmp_path: Path) -> None:
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Introspection)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    server = Dovecot(tmp_path / "oauth",
                     oauth2_introspection_url=f"http://127.0.0.1:{http.server_port}/me")
    server.add_user(USER, "not-used-by-oauth")
    server.start()
    try:
        server.append(USER, "not-used-by-oauth", _mail(1))
        url = f"imap://{USER.replace('@', '%40')}@127.0.0.1:{server.port}/INBOX?auth=xoauth2"
        script = tmp_path / "token.py"
        script.write_text(f"import sys\nassert sys.argv[1] == {USER!r}\n"
                          "print('eyJ0eXAiOiJKV1Qi.token-fran-entra')\n")
        env = {"SYNPUNKT_IMAP_URL": url,
               "SYNPUNKT_IMAP_OAUTH2_TOKEN_COMMAND": f"{sys.executable} {script}"}
        summary = json.loads(run_cli("run", "--once", "--json", home=tmp_path / "h",
                                     env=env).stdout)
        assert summary["stored"] == 1
        script.write_text("print('utgången-token')\n")
        server.append(USER, "not-used-by-oauth", _mail(2))
        refused = run_cli("run", "--once", home=tmp_path / "h", env=env, check=False)
        assert refused.returncode != 0
        assert "inloggningen nekades" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        server.close()
        http.shutdown()
