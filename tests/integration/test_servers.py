"""The real-server harness (tests/harness/) proven against the real servers:
a private Dovecot (IMAP + IMAPS), the aiosmtpd sink process, and redis-server."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
import redis
from imapclient.exceptions import IMAPClientAbortError

from tests.harness.dovecot import Dovecot, dovecot_available, dovecot_missing_reason
from tests.harness.process import free_port, port_open
from tests.harness.redis_server import RedisServer, flush_redis_db, redis_url
from tests.harness.smtp import SmtpSink
from tests.harness.smtp_sink import ARRIVALS

USER, PASSWORD = "synpunkt@ekby.se", "hemligt losen/1?"
SUBJECT = "Mottagningsbevis: Hemtjänsten [EKBY 2026/0001]"


def _raw(subject: str = "Synpunkt på hemtjänsten", n: int = 1) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Åsa Öberg <asa.oberg@example.se>"
    msg["To"] = "synpunkt@ekby.se"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<test-{n}-{time.time_ns()}@example.se>"
    msg.set_content(f"Hej!\n\nMeddelande nummer {n}: maten är kall och personalen stressad.\n")
    return msg.as_bytes(policy=email.policy.SMTP)


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    if not dovecot_available():
        pytest.fail(f"Dovecot is needed for these tests ({dovecot_missing_reason()})")
    server = Dovecot(tmp_path / "dovecot")
    server.add_user(USER, PASSWORD)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    server = SmtpSink(tmp_path / "smtp")
    try:
        server.start()
        yield server
    finally:
        server.close()


# -- Dovecot -----------------------------------------------------------------


def test_dovecot_append_plain_read_back_over_imaps(dovecot: Dovecot) -> None:
    raw = _raw()
    uid = dovecot.append(USER, PASSWORD, raw)
    assert uid >= 1
    with dovecot.session(USER, PASSWORD, tls=True) as c:
        assert c.ssl
        c.select_folder("INBOX", readonly=True)
        data = c.fetch([uid], ["BODY.PEEK[]", "FLAGS"])
    assert data[uid][b"BODY[]"] == raw
    assert b"\\Seen" not in data[uid][b"FLAGS"]
    assert dovecot.fetch_all(USER, PASSWORD) == [raw]
    assert dovecot.count(USER, PASSWORD, "INBOX") == 1


def test_dovecot_url_and_login(dovecot: Dovecot) -> None:
    assert dovecot.url(USER, PASSWORD) == (
        f"imap://synpunkt%40ekby.se:hemligt%20losen%2F1%3F@127.0.0.1:{dovecot.port}/INBOX")
    assert dovecot.url(USER, PASSWORD, folder=dovecot.processed_folder, tls=True).startswith(
        f"imaps://synpunkt%40ekby.se:hemligt%20losen%2F1%3F@127.0.0.1:{dovecot.imaps_port}/")
    assert dovecot.port != dovecot.imaps_port
    from imapclient.exceptions import LoginError

    with pytest.raises(LoginError):
        dovecot.client(USER, "fel losenord")
    dovecot.add_user("handlaggare", "annat")  # while running: read at the next login
    assert dovecot.count("handlaggare", "annat", "INBOX") == 0


def test_dovecot_idle_sees_append_from_another_connection(dovecot: Dovecot) -> None:
    with dovecot.session(USER, PASSWORD) as watcher:
        watcher.select_folder("INBOX")
        watcher.idle()
        try:
            began = time.monotonic()
            dovecot.append(USER, PASSWORD, _raw())
            seen: list[object] = []
            deadline = began + 2.0
            while time.monotonic() < deadline and not any(
                    isinstance(r, tuple) and r[1:] == (b"EXISTS",) for r in seen):
                seen += watcher.idle_check(timeout=max(0.05, deadline - time.monotonic()))
        finally:
            watcher.idle_done()
    assert (1, b"EXISTS") in seen, seen
    assert time.monotonic() - began < 2.0


def test_dovecot_processed_folder_exists_and_move_works(dovecot: Dovecot) -> None:
    folder = dovecot.processed_folder
    assert folder == "Behandlad"
    uid = dovecot.append(USER, PASSWORD, _raw())
    with dovecot.session(USER, PASSWORD) as c:
        assert b"MOVE" in c.capabilities()
        names = [name for _flags, _sep, name in c.list_folders()]
        assert folder in names
        assert folder in [name for _f, _s, name in c.list_sub_folders()]
        c.select_folder("INBOX")
        c.move([uid], folder)
    assert dovecot.count(USER, PASSWORD, "INBOX") == 0
    assert dovecot.count(USER, PASSWORD, folder) == 1


def test_dovecot_restart_keeps_mail_and_ports(dovecot: Dovecot) -> None:
    raw = _raw()
    dovecot.append(USER, PASSWORD, raw)
    port, imaps_port = dovecot.port, dovecot.imaps_port
    began = time.monotonic()
    dovecot.restart()
    restart_s = time.monotonic() - began
    assert (dovecot.port, dovecot.imaps_port) == (port, imaps_port)
    assert dovecot.fetch_all(USER, PASSWORD) == [raw]
    with dovecot.session(USER, PASSWORD, tls=True) as c:
        assert c.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] == 1
    assert restart_s < 10
    assert dovecot.startup_seconds is not None
    print(f"dovecot start {dovecot.startup_seconds * 1000:.0f} ms, "
          f"restart {restart_s * 1000:.0f} ms")


def test_dovecot_stop_closes_ports_and_kill9_breaks_open_client(dovecot: Dovecot) -> None:
    c = dovecot.client(USER, PASSWORD)
    try:
        c.select_folder("INBOX")
        assert c.noop()
        dovecot.kill9()
        assert not dovecot.running
        with pytest.raises(IMAPClientAbortError):
            c.noop()
    finally:
        c.shutdown()
    assert not port_open(dovecot.port)
    dovecot.start()  # a crashed master leaves master.pid behind; start() copes
    assert dovecot.count(USER, PASSWORD, "INBOX") == 0
    dovecot.stop()
    assert not port_open(dovecot.port)
    assert not port_open(dovecot.imaps_port)


# -- SMTP sink ---------------------------------------------------------------


def _receipt() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Ekby kommun <synpunkt@ekby.se>"
    msg["To"] = "Åsa Öberg <asa.oberg@example.se>"
    msg["Subject"] = SUBJECT
    msg["Message-ID"] = "<receipt-1@ekby.se>"
    msg.set_content("Hej Åsa!\n\nVi har tagit emot din synpunkt om hemtjänsten.\n"
                    "Ärendenummer: EKBY 2026/0001.\n\nMed vänlig hälsning\nEkby kommun\n")
    return msg


def test_sink_delivers_swedish_message_identically(sink: SmtpSink) -> None:
    assert sink.url() == f"smtp://127.0.0.1:{sink.port}"
    sent = _receipt()
    asyncio.run(aiosmtplib.send(sent, hostname=sink.host, port=sink.port, start_tls=False))
    raw = _raw(subject="Två meddelanden i rad", n=2)
    asyncio.run(aiosmtplib.send(raw, sender="a@example.se", recipients=["synpunkt@ekby.se"],
                                hostname=sink.host, port=sink.port, start_tls=False))
    got = sink.messages()
    assert len(got) == 2
    back = email.message_from_bytes(got[0], policy=email.policy.default)
    assert isinstance(back, EmailMessage)
    assert back["Subject"] == SUBJECT
    assert back["To"] == "Åsa Öberg <asa.oberg@example.se>"
    body = back.get_body(("plain",))
    assert body is not None
    sent_body = sent.get_body(("plain",))
    assert sent_body is not None
    # on the wire (and so in the file) lines end in CRLF
    assert body.get_content().replace("\r\n", "\n") == sent_body.get_content()
    assert got[1] == raw  # raw bytes round-trip byte for byte, in arrival order
    first = sink.deliveries()[0]
    assert first.mail_from == "synpunkt@ekby.se"
    assert first.rcpt_tos == ["asa.oberg@example.se"]


def test_sink_set_reply_refuses_then_accepts(sink: SmtpSink) -> None:
    sink.set_reply(451)
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=sink.port,
                                    start_tls=False))
    assert info.value.code == 451
    sink.set_reply(554, "5.7.1 Nej tack")
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=sink.port,
                                    start_tls=False))
    assert info.value.code == 554
    assert "Nej tack" in info.value.message
    assert sink.messages() == []
    sink.set_reply(None)
    asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=sink.port, start_tls=False))
    assert len(sink.messages()) == 1


def test_sink_reply_at_rcpt(sink: SmtpSink) -> None:
    sink.set_reply(450, at="RCPT")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=sink.port,
                                    start_tls=False))
    assert [r.code for r in info.value.recipients] == [450]
    assert sink.messages() == []


def test_sink_kill9_and_restart_same_port(sink: SmtpSink) -> None:
    port = sink.port
    sink.kill9()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=port,
                                    start_tls=False, timeout=5))
    sink.start()
    assert sink.port == port
    asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=port, start_tls=False))
    assert len(sink.wait_for(1)) == 1


def test_sink_with_auth(tmp_path: Path) -> None:
    with SmtpSink(tmp_path / "smtp", auth=("sink", "hemligt")) as sink:
        with pytest.raises(aiosmtplib.SMTPResponseException) as info:
            asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=sink.port,
                                        start_tls=False))
        assert info.value.code == 530
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=sink.port,
                                        start_tls=False, username="sink", password="fel"))
        assert sink.messages() == []
        asyncio.run(aiosmtplib.send(_receipt(), hostname=sink.host, port=sink.port,
                                    start_tls=False, username="sink", password="hemligt"))
        assert len(sink.messages()) == 1
        assert sink.deliveries()[0].authenticated
    assert not sink.running
    assert not port_open(sink.port)


# -- Redis -------------------------------------------------------------------


def test_redis_server_stop_and_start_again(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    try:
        server.start()
        client = redis.Redis.from_url(server.url(), socket_connect_timeout=1, socket_timeout=1)
        assert client.ping()
        client.set("k", "v")
        server.stop()
        with pytest.raises(redis.exceptions.ConnectionError):
            client.ping()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((server.host, server.port), timeout=1).close()
        server.start()
        assert client.ping()
        assert client.get("k") is None  # no persistence
        server.kill9()
        assert not port_open(server.port)
        server.start()
        assert client.ping()
        client.close()
    finally:
        server.close()


def test_redis_url_env_and_local_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setenv("SYNPUNKT_TEST_REDIS_URL", "redis://example.invalid:1/3")
    assert redis_url() == "redis://example.invalid:1/3"
    monkeypatch.delenv("SYNPUNKT_TEST_REDIS_URL")
    monkeypatch.setenv("SYNPUNKT_TEST_REDIS_DB", "7")
    assert redis_url(port=free_port()) is None  # nothing listens there
    with RedisServer(tmp_path / "redis") as server:
        url = redis_url(port=server.port)
        assert url == f"redis://127.0.0.1:{server.port}/7"
        client = redis.Redis.from_url(url)
        db0 = redis.Redis.from_url(server.url(0))
        try:
            client.set("k", "v")
            db0.set("k0", "v0")
            flush_redis_db(url)
            assert client.dbsize() == 0
            assert db0.get("k0") == b"v0"  # only DB 7 was flushed
        finally:
            client.close()
            db0.close()


def test_each_xdist_worker_gets_its_own_redis_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNPUNKT_TEST_REDIS_URL", "redis://127.0.0.1:6390/15")
    seen = set()
    for worker in ("gw0", "gw1", "gw2", "gw3"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        seen.add(redis_url())
    assert seen == {f"redis://127.0.0.1:6390/{db}" for db in (15, 14, 13, 12)}


def test_sink_appends_each_arrival_to_its_log(sink: SmtpSink) -> None:
    """The load benchmark follows this log instead of listing the folder."""
    for n in (7, 8):
        _send_to(sink, n, f"bench{n}@example.se")
    lines = (sink.messages_dir / ARRIVALS).read_text("utf-8").splitlines()
    arrivals = [json.loads(line) for line in lines]
    assert [a["rcpt_tos"] for a in arrivals] == [["bench7@example.se"], ["bench8@example.se"]]
    names = sorted(p.stem for p in sink.messages_dir.glob("*.eml"))
    assert [a["name"] for a in arrivals] == names


def test_the_load_benchmark_counts_each_citizens_receipts(sink: SmtpSink) -> None:
    """`receipts sent more than once` in benchmarks/load.py reads the sink's log."""
    from benchmarks.load import Receipts

    receipts = Receipts(sink)
    _send_to(sink, 7, "bench7@example.se")
    _send_to(sink, 8, "chef@ekby.se")  # a notice to a chef is not a citizen's receipt
    assert receipts.refresh() == 1 and receipts.more_than_once() == 0
    _send_to(sink, 8, "bench8@example.se")
    _send_to(sink, 7, "bench7@example.se")  # the same citizen again
    assert receipts.refresh() == 2
    assert receipts.more_than_once() == 1


def _send_to(sink: SmtpSink, n: int, to: str) -> None:
    asyncio.run(aiosmtplib.send(_raw(subject=f"nr {n}", n=n), sender="synpunkt@ekby.se",
                                recipients=[to], hostname=sink.host, port=sink.port,
                                start_tls=False))
