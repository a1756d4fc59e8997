"""``run_once`` delivers each batch's receipts beside the pass (workers.courier):
the first batch's receipts are out before the last batch is registered, every
citizen has one receipt, and what the courier could not send waits in the
outbox for a later attempt."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from cases.migrate import upgrade
from cases.models import Case, Outbox
from classify.triage import Category, Triage
from config.settings import Settings
from service.app import App, build_app
from tests.support import FixedClassifier
from workers.embedded import PRIME_BATCH, run_once

MAILS = 2 * PRIME_BATCH + 10  # three batches


def _app(tmp_path: Path, smtp_url: str | None = None) -> App:
    app = build_app(Settings(home=tmp_path / "home", smtp_url=smtp_url))
    upgrade(app.engine)
    triage = Triage(category=Category.KLAGOMAL, confidence=0.9, needs_review=False)
    return replace(app, classifier=FixedClassifier(triage))


def _drop(app: App, count: int) -> None:
    inbox = app.settings.inbox
    for folder in ("tmp", "new", "cur"):
        (inbox / folder).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        raw = (f"From: Person {n} <person{n}@example.se>\nTo: synpunkter@ekby.example\n"
               f"Subject: Hemtjänsten {n}\nMessage-ID: <c{n}@example.se>\n\n"
               f"Hemtjänsten i Lövsta kom inte i går, det är {n} gånger nu.\n").encode()
        (inbox / "tmp" / f"m{n}").write_bytes(raw)
        (inbox / "tmp" / f"m{n}").rename(inbox / "new" / f"m{n}")


def test_receipts_go_while_later_batches_are_registered(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _drop(app, MAILS)
    report = run_once(app, poll_sms=False)
    assert len(report.outcomes) == MAILS and report.delivered >= MAILS
    with app.sessions() as session:
        receipts = session.execute(
            select(Outbox.recipient, Outbox.sent_at, Outbox.status)
            .where(Outbox.kind == "mottagningsbevis")).all()
        last_registered = session.scalar(select(func.max(Case.registered_at)))
    assert len({r.recipient for r in receipts}) == len(receipts) == MAILS
    assert {r.status for r in receipts} == {"sent"}
    first_sent = min(r.sent_at for r in receipts)
    assert last_registered is not None and first_sent < last_registered, \
        "the first batch's receipts waited for the whole pass"
    assert len(list((app.settings.home / "outbox").glob("*.eml"))) >= MAILS


def test_what_the_courier_cannot_send_waits_in_the_outbox(tmp_path: Path) -> None:
    with socket.socket() as free:  # a port nobody listens on: the server is away
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    app = _app(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
    _drop(app, 3)
    report = run_once(app, poll_sms=False)
    assert len(report.outcomes) == 3
    assert (report.delivered, report.retrying, report.failed) == (0, 3, 0)
    with app.sessions() as session:
        rows = session.execute(select(Outbox.status, Outbox.attempts).where(
            Outbox.kind == "mottagningsbevis")).all()
    assert sorted(rows) == [("pending", 1)] * 3  # tried once each, to be tried again
