"""The point of no return of a delivery, over real SMTP (aiosmtpd on
loopback): recorded before the final "." of DATA, only while the claim is
the attempt's own; claims released as soon as their process is known dead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session, sessionmaker

from cases import heartbeats
from cases.heartbeats import Beat
from cases.models import Event, Outbox, OutboxStatus
from config.errors import TransientError
from notify.attempt import DEFAULT_POLICY
from notify.delivery import Commit, Transports
from notify.outbox import due_ids
from notify.sending import deliver, deliver_many
from notify.smtp import SmtpTransport, parse_smtp_url
from tests.integration.test_delivery import Sink, _get, _row, pg_sessions, sessions, sink

__all__ = ["pg_sessions", "sessions", "sink"]  # the fixtures

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
BODY = (b"From: Ekby kommun <synpunkter@ekby.example>\r\nTo: kalle@example.se\r\n"
        b"Subject: Mottagningsbevis [EKBY 2026/0001]\r\n\r\nHej!\r\n.punkt\r\n")


def _beat(sessions: sessionmaker[Session], process_id: str, at: datetime,
          state: str = "running") -> None:
    with sessions.begin() as session:
        heartbeats.write(session, Beat(id=f"beat-{process_id}", process_id=process_id,
                                       role="worker", name="worker", host="h", pid=1,
                                       started_at=at, state=state), at)


def test_the_end_of_data_is_recorded_before_the_server_has_the_message(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    seen: list[tuple[bool, int]] = []  # at the point: (recorded, messages at the sink)

    class Watched:
        idempotent = False

        def send(self, outbox_id: int, recipient: str, body: bytes,
                 commit: Commit | None = None) -> None:
            def watched() -> None:
                assert commit is not None
                commit()
                seen.append((_get(sessions, outbox_id).committed_at is not None,
                             len(handler.received)))
            smtp.send(outbox_id, recipient, body, watched)

    oid = _row(sessions, body=BODY)
    assert deliver(sessions, Transports(Watched()), oid, NOW) == OutboxStatus.SENT
    assert seen == [(True, 0)]
    # the message arrived whole, dot-stuffed on the wire and unstuffed again
    assert [content for _f, _r, content in handler.received] == [BODY]
    row = _get(sessions, oid)
    assert row.committed_at == NOW and row.claimed_until is None


def test_a_claim_released_meanwhile_stops_the_attempt_before_the_end(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    """This worker was taken for dead and another attempt took the row: at
    its point of no return this one finds the claim gone and sends nothing."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))

    class TakenOver:
        idempotent = False

        def send(self, outbox_id: int, recipient: str, body: bytes,
                 commit: Commit | None = None) -> None:
            with sessions.begin() as session:  # another attempt claims the row
                session.execute(update(Outbox).where(Outbox.id == outbox_id)
                                .values(attempts=Outbox.attempts + 1, claimed_by="other"))
            smtp.send(outbox_id, recipient, body, commit)

    oid = _row(sessions)
    status = deliver(sessions, Transports(TakenOver()), oid, NOW)
    assert status == OutboxStatus.SENDING  # the other attempt's, untouched
    assert handler.received == []
    row = _get(sessions, oid)
    assert (row.attempts, row.claimed_by, row.committed_at) == (2, "other", None)
    # and the connection it left is not reused half-way through a DATA
    assert deliver(sessions, Transports(smtp), _row(sessions), NOW) == OutboxStatus.SENT
    assert len(handler.received) == 1


def test_an_answer_lost_after_the_end_of_data_is_uncertain(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    handler, port = sink
    handler.answer_after = 3.0
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"), timeout=1.0)
    oid = _row(sessions)
    assert deliver(sessions, Transports(smtp), oid, NOW) == OutboxStatus.UNCERTAIN
    assert len(handler.received) == 1  # it did arrive: resending would double it
    assert "oklart" in (_get(sessions, oid).last_error or "")


def test_a_claim_whose_process_is_dead_is_released_at_once(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    """Within its lease, a claim holds while its process beats; once that
    process is silent (or stopped), the row is due, and goes out once."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    lease_end = NOW + DEFAULT_POLICY.lease
    _beat(sessions, "alive", NOW)
    held = _row(sessions, status=OutboxStatus.SENDING, attempts=1, claimed_until=lease_end,
                claimed_by="alive")
    dead = _row(sessions, status=OutboxStatus.SENDING, attempts=1, claimed_until=lease_end,
                claimed_by="gone")  # no heartbeat at all: its row was replaced
    silent_after = DEFAULT_POLICY.silent_claimer
    assert due_ids(sessions, NOW, silent_after) == [dead]
    assert deliver(sessions, Transports(smtp), held, NOW) == OutboxStatus.SENDING
    assert deliver(sessions, Transports(smtp), dead, NOW, claimer="me") == OutboxStatus.SENT
    assert len(handler.received) == 1
    # the live one goes silent: due, and sent by whoever asks next
    later = NOW + silent_after + timedelta(seconds=1)
    assert due_ids(sessions, later, silent_after) == [held]
    assert deliver(sessions, Transports(smtp), held, later, claimer="me") == OutboxStatus.SENT
    assert len(handler.received) == 2
    with sessions() as session:
        kinds = [e.kind for e in session.query(Event).filter(Event.outbox_id.in_([held, dead]))]
    assert kinds.count("mottagningsbevis.released") == 2


def test_a_stopped_process_releases_its_claims(sessions: sessionmaker[Session]) -> None:
    _beat(sessions, "done", NOW, state="stopped")
    oid = _row(sessions, status=OutboxStatus.SENDING, attempts=1,
               claimed_until=NOW + DEFAULT_POLICY.lease, claimed_by="done")
    assert due_ids(sessions, NOW, DEFAULT_POLICY.silent_claimer) == [oid]


def test_the_knowledge_of_a_live_attempt_settles_a_guess_of_uncertain(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    """Taken for dead after its point of no return, its row was made
    uncertain; when its answer comes after all, it is sent, not uncertain."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))

    class Late:
        idempotent = False

        def send(self, outbox_id: int, recipient: str, body: bytes,
                 commit: Commit | None = None) -> None:
            def commit_then_guess() -> None:
                assert commit is not None
                commit()
                with sessions.begin() as session:  # the scheduler's guess meanwhile
                    session.execute(update(Outbox).where(Outbox.id == outbox_id)
                                    .values(status=OutboxStatus.UNCERTAIN))
            smtp.send(outbox_id, recipient, body, commit_then_guess)

    oid = _row(sessions)
    assert deliver_many(sessions, Transports(Late()), [oid], NOW) == {oid: OutboxStatus.SENT}
    assert len(handler.received) == 1


def test_each_answer_is_settled_in_the_next_rows_point_of_no_return(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    """Rows delivered together: row k's answer is committed with row k+1's
    point of no return (one transaction, flushed), the last one's on its
    own; a row that fails before its point leaves the earlier answers to
    the next transaction; an unforeseen error still settles what was answered."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    seen: list[list[str]] = []  # every row's status at each point of no return
    ids: list[int] = []
    fail: dict[int, Exception] = {}

    class Watched:
        idempotent = False

        def send(self, outbox_id: int, recipient: str, body: bytes,
                 commit: Commit | None = None) -> None:
            if outbox_id in fail:
                raise fail[outbox_id]

            def watched() -> None:
                assert commit is not None
                commit()
                seen.append([_get(sessions, i).status for i in ids])
            smtp.send(outbox_id, recipient, body, watched)

    ids.extend(_row(sessions) for _ in range(3))
    statuses = deliver_many(sessions, Transports(Watched()), ids, NOW)
    assert statuses == dict.fromkeys(ids, OutboxStatus.SENT)
    assert seen == [["sending"] * 3, ["sent", "sending", "sending"],
                    ["sent", "sent", "sending"]]
    assert len(handler.received) == 3

    seen.clear()
    ids[:] = [_row(sessions) for _ in range(3)]
    fail[ids[1]] = TransientError("451 try later")
    statuses = deliver_many(sessions, Transports(Watched()), ids, NOW)
    assert [statuses[i] for i in ids] == ["sent", "pending", "sent"]
    assert seen == [["sending"] * 3, ["sent", "pending", "sending"]]

    ids[:] = [_row(sessions) for _ in range(3)]
    fail[ids[1]] = RuntimeError("a bug in a transport")
    with pytest.raises(RuntimeError):
        deliver_many(sessions, Transports(Watched()), ids, NOW)
    assert [_get(sessions, i).status for i in ids] == ["sent", "sending", "sending"]


def test_a_settlement_its_event_and_the_next_point_of_no_return_are_one_statement(
        sink: tuple[Sink, int], sessions: sessionmaker[Session]) -> None:
    """On PostgreSQL a row's point of no return carries the settlement of
    the row answered before it, with that settlement's event: one statement
    for each mail delivered (SQLite: three). A settlement that finds its
    claim released writes no event, and the next point still holds."""
    handler, port = sink
    smtp = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    ids = [_row(sessions) for _ in range(3)]
    taken = ids[1]
    statements: list[str] = []
    ours = [True]

    class TakenAfterTheEnd:
        idempotent = False

        def send(self, outbox_id: int, recipient: str, body: bytes,
                 commit: Commit | None = None) -> None:
            smtp.send(outbox_id, recipient, body, commit)
            if outbox_id == taken:  # taken for dead after its end of DATA, and claimed again
                ours[0] = False
                with sessions.begin() as session:
                    session.execute(update(Outbox).where(Outbox.id == taken)
                                    .values(attempts=Outbox.attempts + 1, claimed_by="other"))
                ours[0] = True

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if ours[0] and not statement.startswith("BEGIN"):  # SQLite's own BEGIN IMMEDIATE
            statements.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        statuses = deliver_many(sessions, Transports(TakenAfterTheEnd()), ids, NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statuses == {ids[0]: "sent", taken: "sending", ids[2]: "sent"}
    assert len(handler.received) == 3
    # claim (2), each point of no return with the settlement before it (3),
    # the released row's status (1), the last settlement with its commit mode (2)
    assert len(statements) == (8 if engine.dialect.name == "postgresql" else 11), statements
    with sessions() as session:
        events = [(e.outbox_id, e.kind, e.detail) for e in session.query(Event).filter(
            Event.outbox_id.in_(ids)).order_by(Event.id)]
    assert events == [(i, "mottagningsbevis.sent", {"attempt": 1, "channel": "email"})
                      for i in (ids[0], ids[2])]
