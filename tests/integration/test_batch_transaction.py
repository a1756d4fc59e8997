"""A batch registered in one transaction (``service.batch.process_batch``):
a mail in it that fails sends the batch back to one by one with nothing of
the failed attempt left (its diarienummer block given back, no gap); copies
of one mail within a batch, and the limit on automatic mail to one sender,
are decided as one by one decides them; batches registered at once by
several threads (on PostgreSQL) number their cases without a gap or a
repeat, each receipt carrying its own case's number."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Event, Inbound, InboundStatus, Outbox
from classify.triage import Triage
from config.settings import Settings
from ingest.message import Message
from notify.mail import OutgoingMail
from notify.outbox import OutboxBatch, queue_mail
from routing.decision import Decision
from service.app import App, build_app
from service.batch import prime, process_batch
from service.pipeline import Outcome, process_inbound
from tests.harness.postgres import scratch_database
from workers.listener import chunks

AT = datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
TEXTS = [
    "Snöröjningen på Storgatan har inte gjorts på en vecka och min mamma kommer inte ut.",
    "Jag vill klaga på att hemtjänsten kom två timmar för sent i går kväll.",
    "Tack till personalen på biblioteket som hjälpte mig att hitta rätt bok!",
    "Belysningen vid busshållplatsen på Skolvägen är trasig sedan en månad.",
    "Min son har inte fått sin skolskjuts på tre dagar och ingen svarar i telefon.",
    "Jag tycker att kommunen borde sätta upp fler papperskorgar i parken.",
]


def _mail(n: int, sender: str | None = None, subject: str = "Synpunkt") -> bytes:
    sender = sender or f"person{n}@example.se"
    return (f"From: Person {n} <{sender}>\r\nTo: synpunkter@ekby.se\r\n"
            f"Subject: {subject} {n}\r\nDate: {format_datetime(AT)}\r\n"
            f"Message-ID: <batch{n}@example.se>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{TEXTS[n % len(TEXTS)]}\r\n"
            f"Vänliga hälsningar, Person {n} (brev {n})\r\n").encode()


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> object:
    return build_app(Settings(home=tmp_path_factory.mktemp("model"))).classifier


def _app(home: Path, classifier: object, url: str | None = None) -> App:
    app = build_app(Settings(home=home, database_url=url) if url else Settings(home=home))
    upgrade(app.engine)
    return replace(app, clock=lambda: AT, classifier=classifier)  # type: ignore[arg-type]


def _store(app: App, raws: list[bytes]) -> list[int]:
    with app.sessions.begin() as session:
        return [store_raw(session, "test", f"k{i}", raw, received_at=AT).inbound_id
                for i, raw in enumerate(raws)]


def _batch(app: App, ids: list[int], size: int = 8) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for part in chunks(ids, size):
        process_batch(app, part, prime(app, part), outcomes)
    return outcomes


@dataclass(frozen=True)
class _BrokenRouter:
    """A router with a bug that only one mail meets."""
    router: object

    def route(self, message: Message, triage: Triage) -> Decision:
        if "BUGG" in message.subject:
            raise KeyError("a bug in the rules")
        return self.router.route(message, triage)  # type: ignore[attr-defined, no-any-return]


def test_a_failing_mail_sends_the_batch_one_by_one(tmp_path: Path, classifier: object,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    app = _app(tmp_path, classifier)
    app = replace(app, router=_BrokenRouter(app.router))  # type: ignore[arg-type]
    raws = [_mail(n, subject="BUGG" if n == 3 else "Synpunkt") for n in range(8)]
    ids = _store(app, raws)
    with caplog.at_level(logging.ERROR, logger="service.pipeline"):
        outcomes = _batch(app, ids)
    assert [r for r in caplog.records if "taken one by one" in r.getMessage()]
    assert [o.inbound_id for o in outcomes] == ids
    with app.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(Inbound))}
        numbers = sorted(session.scalars(select(Case.number)))
        receipts = session.scalars(select(Outbox.case_id)
                                   .where(Outbox.kind == "mottagningsbevis")).all()
    broken = rows[ids[3]]
    assert broken.status == InboundStatus.QUARANTINED
    assert (broken.reason or "").startswith("internal-error")
    assert all(rows[i].status == InboundStatus.PROCESSED for i in ids if i != ids[3])
    assert numbers == list(range(1, 8)), "the rolled-back block was given back: no gap"
    assert len(receipts) == len(set(receipts)) == 7


def test_copies_in_one_batch_join_the_first(tmp_path: Path, classifier: object) -> None:
    app = _app(tmp_path, classifier)
    raws = [_mail(n) for n in range(6)]
    copy = b"Received: from relay.example.se by mx.ekby.se\r\n" + raws[1]  # another way in
    ids = _store(app, [*raws[:3], copy, *raws[3:], b"X-Relayed: 2\r\n" + raws[1]])
    outcomes = _batch(app, ids)
    assert len(outcomes) == len(ids)
    with app.sessions() as session:
        rows = [session.get_one(Inbound, i) for i in ids]
        first = rows[1]
        receipts = session.scalars(select(Outbox.case_id)
                                   .where(Outbox.kind == "mottagningsbevis")).all()
        assert first.status == InboundStatus.PROCESSED and first.case_id is not None
        for copy in (rows[3], rows[7]):
            assert copy.status == InboundStatus.IGNORED
            assert (copy.reason or "").startswith("duplicate")
            assert copy.case_id == first.case_id
        assert len(receipts) == 6 == len(set(receipts))


def test_the_limit_on_automatic_mail_counts_within_the_batch(tmp_path: Path,
                                                             classifier: object) -> None:
    """Five mails from one sender in one batch: as many receipts as one by
    one sends (the limit: three a day), the rest recorded as suppressed."""
    raws = [_mail(n, sender="samma@example.se") for n in range(5)]
    found = []
    for way in ("one", "batch"):
        app = _app(tmp_path / way, classifier)
        ids = _store(app, raws)
        if way == "one":
            for inbound_id in ids:
                process_inbound(app, inbound_id)
        else:
            _batch(app, ids)
        with app.sessions() as session:
            found.append((
                len(session.scalars(select(Outbox.id).where(
                    Outbox.kind == "mottagningsbevis")).all()),
                len(session.scalars(select(Event.id).where(
                    Event.kind == "mottagningsbevis.suppressed")).all())))
    limit = app.settings.auto_reply_limit
    assert found[0] == found[1] == (limit, 5 - limit)


def test_batches_at_once_number_without_gaps(tmp_path: Path, classifier: object,
                                             postgres_server_url: str) -> None:
    with scratch_database(postgres_server_url, "synpunkt_batches") as url:
        app = _app(tmp_path, classifier, url)
        try:
            ids = _store(app, [_mail(n) for n in range(64)])
            errors: list[BaseException] = []

            def work(part: list[int]) -> None:
                try:
                    _batch(app, part)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(ids[k::4],)) for k in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors
            with app.sessions() as session:
                cases = session.execute(select(Case.id, Case.number, Case.diarienummer)).all()
                bodies = {case_id: body for case_id, body in session.execute(
                    select(Outbox.case_id, Outbox.body).where(Outbox.kind == "mottagningsbevis"))}
                statuses = set(session.scalars(select(Inbound.status)))
        finally:
            app.engine.dispose()
    assert statuses == {InboundStatus.PROCESSED}
    assert sorted(c.number for c in cases) == list(range(1, 65))
    assert len({c.diarienummer for c in cases}) == 64
    for case in cases:  # each receipt names its own case's number
        assert case.diarienummer.encode() in bodies[case.id].replace(b"=\r\n", b"")


def test_a_batchs_mail_is_written_in_one_statement(tmp_path: Path, classifier: object,
                                                   postgres_server_url: str) -> None:
    """On PostgreSQL the receipts and notices a batch queues are written in
    one INSERT (``notify.outbox.OutboxBatch``), each with the id its outcome
    carries and its own "queued" event."""
    with scratch_database(postgres_server_url, "synpunkt_outbox_batch") as url:
        app = _app(tmp_path, classifier, url)
        inserts: list[int] = []

        def count(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
            if statement.lstrip().startswith("INSERT INTO outbox"):
                inserts.append(len(params) if isinstance(params, list) else 1)

        try:
            ids = _store(app, [_mail(n) for n in range(8)])
            event.listen(app.engine, "before_cursor_execute", count)
            outcomes = _batch(app, ids)
            event.remove(app.engine, "before_cursor_execute", count)
            with app.sessions() as session:
                rows = {r.id: r for r in session.scalars(select(Outbox))}
                queued = {e.outbox_id: e.case_id for e in session.scalars(
                    select(Event).where(Event.kind.like("%.queued")))}
        finally:
            app.engine.dispose()
    assert len(inserts) == 1, "one statement for the batch's mail"
    carried = [i for o in outcomes for i in o.outbox_ids]
    assert sorted(carried) == sorted(rows) and len(carried) >= 8
    assert queued == {i: r.case_id for i, r in rows.items()}
    assert sorted(r.case_id or 0 for r in rows.values() if r.kind == "mottagningsbevis") == sorted(
        o.case_id or 0 for o in outcomes)


def test_mail_that_exists_already_sends_the_batch_one_by_one(
        tmp_path: Path, classifier: object, postgres_server_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """A row already holding the dedupe key of a receipt the batch queues:
    the batch is rolled back and taken one by one, and no mail is queued
    twice."""
    with scratch_database(postgres_server_url, "synpunkt_outbox_conflict") as url:
        app = _app(tmp_path, classifier, url)
        try:
            ids = _store(app, [_mail(n) for n in range(4)])
            with app.sessions.begin() as session:
                after = session.scalar(text("SELECT nextval(pg_get_serial_sequence('case', 'id'))"))
                session.add(Outbox(dedupe_key=f"mottagningsbevis:case:{after + 1}",
                                   kind="mottagningsbevis", recipient="x@example.se",
                                   subject="x", body=b"x", attempts=0))
            with caplog.at_level(logging.ERROR, logger="service.batch"):
                outcomes = _batch(app, ids)
            with app.sessions() as session:
                receipts = session.scalars(select(Outbox.case_id)
                                           .where(Outbox.kind == "mottagningsbevis")).all()
                statuses = set(session.scalars(select(Inbound.status)))
        finally:
            app.engine.dispose()
    assert [r for r in caplog.records if "taken one by one" in r.getMessage()]
    assert statuses == {InboundStatus.PROCESSED}
    assert sorted(r for r in receipts if r is not None) == sorted(o.case_id or 0 for o in outcomes)
    assert len(receipts) == 5


def test_a_message_the_batch_holds_is_not_queued_again(tmp_path: Path, classifier: object,
                                                       postgres_server_url: str) -> None:
    """Within an open ``OutboxBatch`` a second row for one logical message
    gets no id and no "queued" event, as the database's dedupe key answers
    a second INSERT; the first is written once."""
    with scratch_database(postgres_server_url, "synpunkt_outbox_held") as url:
        app = _app(tmp_path, classifier, url)
        mail = OutgoingMail("Ekby kommun", "synpunkter@ekby.se", "anna@example.se", "Ärende",
                            "Hej", "<synpunkt.held@ekby.se>", AT, automatic=False)
        try:
            with app.sessions.begin() as session, OutboxBatch().open(session):
                ids = [queue_mail(session, mail, kind="underrattelse", dedupe_key="same",
                                  case_id=None, limit=app.auto_reply_limit, now=AT)
                       for _ in range(2)]
            with app.sessions() as session:
                rows = session.scalars(select(Outbox.id)).all()
                queued = session.scalars(select(Event.outbox_id).where(
                    Event.kind == "underrattelse.queued")).all()
        finally:
            app.engine.dispose()
    assert ids[1] is None and ids[0] is not None
    assert rows == [ids[0]] and queued == [ids[0]]


def _events(app: App) -> list[tuple[object, ...]]:
    """Every event, the outbox row it names by its dedupe key, in a stable order."""
    with app.sessions() as session:
        keys = {i: k for i, k in session.execute(select(Outbox.id, Outbox.dedupe_key))}
        found = [(e.actor, e.kind, e.case_id, e.inbound_id, keys.get(e.outbox_id or 0),
                  sorted(e.detail.items()))
                 for e in session.scalars(select(Event).order_by(Event.id))]
    return sorted(found, key=repr)


def test_a_batch_records_the_events_one_by_one_records(tmp_path: Path, classifier: object,
                                                        postgres_server_url: str) -> None:
    """On PostgreSQL a batch's events are kept while it registers and written
    after its mail in one statement (``audit.buffered``): the same events,
    with the same cases, mails and details, as the mails one by one."""
    raws = [_mail(n) for n in range(8)] + [_mail(8, sender="person1@example.se")]
    happened = []
    for way in ("alone", "batch"):
        with scratch_database(postgres_server_url, f"synpunkt_events_{way}") as url:
            app = _app(tmp_path / way, classifier, url)
            try:
                ids = _store(app, raws)
                if way == "alone":
                    for inbound_id in ids:
                        process_inbound(app, inbound_id)
                else:
                    _batch(app, ids, size=len(ids))
                happened.append(_events(app))
            finally:
                app.engine.dispose()
    alone, batch = happened
    assert len(batch) >= 3 * len(raws)  # registered, inbound processed, mail queued
    assert batch == alone
