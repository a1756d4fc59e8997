"""Outbox delivery over real SMTP (aiosmtpd on loopback): 4xx retried, 5xx
failed, and never a second send after an interrupted attempt."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, insert, text, update
from sqlalchemy.orm import Session, sessionmaker

from cases.db import make_engine, make_sessions
from cases.migrate import upgrade
from cases.models import Base, Event, Outbox, OutboxStatus
from notify.attempt import DEFAULT_POLICY, give_up
from notify.delivery import FileTransport, Transports
from notify.outbox import due_ids
from notify.sending import deliver, deliver_many
from notify.smtp import SmtpTransport, parse_smtp_url
from tests.harness.postgres import scratch_database
from tests.support import free_port

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LEASE = DEFAULT_POLICY.lease
BODY = (b"From: Ekby kommun <synpunkter@ekby.example>\r\nTo: kalle@example.se\r\n"
        b"Subject: Mottagningsbevis [EKBY 2026/0001]\r\nMessage-ID: <synpunkt.x1@ekby.example>\r\n"
        b"\r\nHej!\r\n")
_ROWS = itertools.count(1)


@dataclass
class Sink:
    reply: str | None = None  # e.g. "451 try later"
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)  # client address:port of each DATA
    answer_after: float = 0.0  # seconds between taking a message and answering

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.connections.append(str(session.peer))
        if self.reply:
            return self.reply
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        await asyncio.sleep(self.answer_after)
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def pg_sessions(postgres_server_url: str) -> Iterator[sessionmaker[Session]]:
    """One database for the module's PostgreSQL runs, emptied before each
    test (``sessions``): cheaper than a database and its migrations each."""
    with scratch_database(postgres_server_url, "synpunkt_test") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield make_sessions(engine)
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> sessionmaker[Session]:
    """The outbox on both databases: PostgreSQL settles an answer in one
    statement (``notify.attempt.settle_then_pass``), SQLite in two."""
    if request.param == "postgresql":
        pg: sessionmaker[Session] = request.getfixturevalue("pg_sessions")
        with pg.begin() as session:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return pg
    engine = make_engine(f"sqlite:///{tmp_path / 'o.sqlite3'}")
    upgrade(engine)
    return make_sessions(engine)


def _row(sessions: sessionmaker[Session], **fields: Any) -> int:
    with sessions.begin() as session:
        n = next(_ROWS)
        fields.setdefault("recipient", "kalle@example.se")
        fields.setdefault("body", BODY)
        row = Outbox(dedupe_key=f"test:{n}", kind="mottagningsbevis", subject="s",
                     message_id=f"<synpunkt.x{n}@ekby.example>", created_at=NOW,
                     next_attempt_at=NOW, **fields)
        session.add(row)
        session.flush()
        return row.id


def _get(sessions: sessionmaker[Session], outbox_id: int) -> Outbox:
    with sessions() as session:
        return session.get_one(Outbox, outbox_id)


def test_sent_once_with_a_null_reverse_path(sink: tuple[Sink, int],
                                            sessions: sessionmaker[Session]) -> None:
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    oid = _row(sessions)
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.SENT
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.SENT  # sends nothing
    assert len(handler.received) == 1
    mail_from, rcpt, content = handler.received[0]
    assert mail_from == "<>"
    assert rcpt == ["kalle@example.se"]
    assert b"[EKBY 2026/0001]" in content


def test_one_connection_carries_many_mails(sink: tuple[Sink, int],
                                           sessions: sessionmaker[Session]) -> None:
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    for _ in range(3):
        assert deliver(sessions, Transports(smtp), _row(sessions), NOW) == OutboxStatus.SENT
    assert len(handler.received) == 3
    assert len(set(handler.connections)) == 1
    handler.reply = "451 4.3.0 Prova senare"  # an error: the next mail starts a new connection
    assert deliver(sessions, Transports(smtp), _row(sessions), NOW) == OutboxStatus.PENDING
    handler.reply = None
    assert deliver(sessions, Transports(smtp), _row(sessions), NOW) == OutboxStatus.SENT
    assert len(set(handler.connections)) == 2
    assert handler.connections[-1] != handler.connections[-2]
    smtp.close()


def test_a_connection_the_server_dropped_is_replaced(sessions: sessionmaker[Session]) -> None:
    """The server restarted while our connection sat idle: the NOOP check
    notices, and the mail goes out on a new connection, once."""
    port = free_port()
    handler = Sink()
    first = Controller(handler, hostname="127.0.0.1", port=port)
    first.start()
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    assert deliver(sessions, Transports(smtp), _row(sessions), NOW) == OutboxStatus.SENT
    first.stop()
    second = Controller(handler, hostname="127.0.0.1", port=port)
    second.start()
    try:
        smtp.FRESH_SECONDS = 0.0  # as if the connection had been idle a while
        assert deliver(sessions, Transports(smtp), _row(sessions), NOW) == OutboxStatus.SENT
        assert len(handler.received) == 2
        assert len(set(handler.connections)) == 2
    finally:
        smtp.close()
        second.stop()


def test_a_batch_is_sent_in_order_each_row_once(sink: tuple[Sink, int],
                                                sessions: sessionmaker[Session]) -> None:
    """A case's receipt and notices go as one batch; a row already sent, or
    named twice, is not sent again."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    done = _row(sessions, status=OutboxStatus.SENT, attempts=1)
    first, second = _row(sessions), _row(sessions, recipient="chef@ekby.example")
    statuses = deliver_many(sessions, Transports(smtp), [first, second, done, first], NOW)
    assert statuses == {first: OutboxStatus.SENT, second: OutboxStatus.SENT,
                        done: OutboxStatus.SENT}
    assert [r for _, r, _ in handler.received] == [["kalle@example.se"], ["chef@ekby.example"]]
    assert all(_get(sessions, i).attempts == 1 for i in (first, second, done))
    assert deliver_many(sessions, Transports(smtp), [first, second], NOW) == {
        first: OutboxStatus.SENT, second: OutboxStatus.SENT}
    assert len(handler.received) == 2
    smtp.close()


def test_4xx_is_retried_later_and_then_sent(sink: tuple[Sink, int],
                                            sessions: sessionmaker[Session]) -> None:
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    oid = _row(sessions)
    handler.reply = "451 4.3.0 Prova senare"
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.PENDING
    row = _get(sessions, oid)
    assert row.attempts == 1
    assert "451" in (row.last_error or "")
    assert row.next_attempt_at > NOW
    assert oid not in due_ids(sessions, NOW)  # not due before its backoff
    handler.reply = None
    later = row.next_attempt_at + timedelta(seconds=1)
    assert oid in due_ids(sessions, later)
    assert deliver(sessions, Transports(smtp), oid, later) == OutboxStatus.SENT
    assert len(handler.received) == 1


def test_5xx_fails_for_good_and_is_shown(sink: tuple[Sink, int],
                                         sessions: sessionmaker[Session]) -> None:
    handler, port = sink
    handler.reply = "554 5.7.1 Nej"
    oid = _row(sessions)
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.FAILED
    assert "554" in (_get(sessions, oid).last_error or "")
    assert oid not in due_ids(sessions, NOW + timedelta(days=1))


def test_no_server_is_transient(sessions: sessionmaker[Session]) -> None:
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{free_port()}"), timeout=5)
    oid = _row(sessions)
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.PENDING


def test_interrupted_attempt_is_never_resent_over_smtp(sink: tuple[Sink, int],
                                                       sessions: sessionmaker[Session]) -> None:
    """A worker passed the end of DATA, and died before recording the answer."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    oid = _row(sessions, status=OutboxStatus.SENDING, attempts=1, claimed_until=NOW + LEASE,
               committed_at=NOW)
    # Its worker may be alive:
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.SENDING
    later = NOW + LEASE + timedelta(seconds=1)
    assert oid in due_ids(sessions, later)
    assert deliver(sessions, Transports(smtp), oid, later) == OutboxStatus.UNCERTAIN
    assert handler.received == []
    assert oid not in due_ids(sessions, later + timedelta(days=1))


def test_attempt_interrupted_before_the_end_of_data_is_sent_again(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    """A worker died before its point of no return: the row certainly never
    left, so it goes out (once) as soon as its lease is over."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    oid = _row(sessions, status=OutboxStatus.SENDING, attempts=1, claimed_until=NOW + LEASE)
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.SENDING
    later = NOW + LEASE + timedelta(seconds=1)
    assert deliver(sessions, Transports(smtp), oid, later) == OutboxStatus.SENT
    assert len(handler.received) == 1
    assert _get(sessions, oid).attempts == 2


def test_interrupted_attempt_over_an_idempotent_transport_is_completed(
        tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    files = FileTransport(tmp_path / "out")
    oid = _row(sessions, status=OutboxStatus.SENDING, attempts=1, claimed_until=NOW)
    assert deliver(sessions, Transports(files), oid, NOW + LEASE) == OutboxStatus.SENT
    assert [p.read_bytes() for p in (tmp_path / "out").glob("*.eml")] == [BODY]


def test_a_person_resends_an_uncertain_receipt(tmp_path: Path) -> None:
    """Through the command line: list what needs a decision, resend it, deliver it."""
    from tests.support import run_cli

    home = tmp_path / "home"
    run_cli("db", "upgrade", home=home)
    engine = make_engine(f"sqlite:///{home / 'synpunkt.sqlite3'}")
    sessions = make_sessions(engine)
    oid = _row(sessions, status=OutboxStatus.UNCERTAIN, attempts=1)
    listed = run_cli("outbox", "list", "--status", "uncertain", "--json", home=home).stdout
    assert [json.loads(line)["id"] for line in listed.splitlines()] == [oid]
    refused = run_cli("outbox", "resend", "999", home=home, check=False)
    assert refused.returncode == 5
    assert "finns inte" in refused.stderr
    run_cli("outbox", "resend", str(oid), "--by", "user:eva@ekby.example", home=home)
    assert _get(sessions, oid).status == OutboxStatus.PENDING
    again = run_cli("outbox", "resend", str(oid), home=home, check=False)
    assert "bara misslyckade eller osäkra" in again.stderr
    run_cli("run", "--once", home=home)
    assert _get(sessions, oid).status == OutboxStatus.SENT
    assert len(list((home / "outbox").glob("*.eml"))) == 1
    engine.dispose()


@pytest.mark.postgres
def test_the_claim_finds_its_rows_by_primary_key_on_postgresql(
        tmp_path: Path, postgres_url: str) -> None:
    """Every outbox row was pending once, and the status index keeps that entry
    until VACUUM removes it: between vacuums (and for ever on a server without
    autovacuum, like the test machine's) a plan through that index reads every
    row ever sent. The statements of a delivery must find rows by id alone."""
    engine = make_engine(postgres_url)
    upgrade(engine)
    sessions = make_sessions(engine)
    with engine.begin() as conn:  # 3,000 receipts queued, then sent: dead index entries
        conn.execute(insert(Outbox), [
            dict(dedupe_key=f"old:{i}", kind="mottagningsbevis", recipient=f"r{i}@example.se",
                 subject="s", body=BODY, created_at=NOW, next_attempt_at=NOW,
                 status=OutboxStatus.PENDING, attempts=0) for i in range(3000)])
        conn.execute(update(Outbox).values(status=OutboxStatus.SENT))
    batch = [_row(sessions) for _ in range(3)]  # a receipt and two notices
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if "outbox" in statement and statement.lstrip().startswith(("SELECT", "UPDATE", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        sent = deliver_many(sessions, Transports(FileTransport(tmp_path / "out")), batch, NOW)
        assert sent == dict.fromkeys(batch, OutboxStatus.SENT)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert statements
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
            assert "ix_outbox_status" not in plan, f"{statement}\n{plan}"
    engine.dispose()


def test_a_dead_letter_fails_a_row_unless_it_may_have_gone_out(
        sessions: sessionmaker[Session]) -> None:
    """The workers gave up (dramatiq's retries exhausted): a pending row is
    failed; one past its point of no return is uncertain; a sent one stays."""
    pending = _row(sessions)
    past_the_point = _row(sessions, status=OutboxStatus.SENDING, committed_at=NOW,
                          claimed_until=NOW + LEASE)
    sent = _row(sessions, status=OutboxStatus.SENT, sent_at=NOW)
    with sessions.begin() as session:
        for outbox_id in (pending, past_the_point, sent, 10_000):
            give_up(session, outbox_id, "dead-letter: RuntimeError", "system:worker")
    with sessions() as session:
        rows = {o.id: o for o in session.query(Outbox)}
        assert rows[pending].status == OutboxStatus.FAILED
        assert rows[past_the_point].status == OutboxStatus.UNCERTAIN
        assert rows[sent].status == OutboxStatus.SENT
        assert rows[pending].last_error == "dead-letter: RuntimeError"
        events = [e.kind for e in session.query(Event).order_by(Event.id)]
    assert events[-2:] == ["mottagningsbevis.failed", "mottagningsbevis.uncertain"]
