"""The batch path (issue 25) decides exactly what the one-by-one path does.

Every fixture mail (citizens, automatic replies, lists, web forms, broken
MIME, replies to a case), staff forwards in each mail program's shape, and
every tenth mail of the real-mail corpus (bounces, vacation replies, lists,
people) are stored twice, in two fresh databases.
One is processed mail by mail, each parsed and classified on its own; the
other as the workers and ``run --once`` do it: each batch of eight parsed
and classified ahead (``prime``), then processed in one transaction with
the parse it was given, its cases numbered in one block at the end
(``process_batch``). Every row's outcome, every case and every queued mail
must be the same, the shipped model deciding in both, and no batch may have
fallen back to one by one (which would make the comparison empty).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Inbound, Outbox
from config.settings import Settings
from service.app import App, build_app
from service.batch import prime, process_batch
from service.pipeline import Outcome, process_inbound
from tests.integration.test_forwards_and_forms import FORWARDS
from tests.realmail import corpus
from tests.support import FIXTURES
from workers.listener import chunks

AT = datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
MESSAGE_ID = re.compile(rb"^(Message-ID|References|In-Reply-To): .*$", re.M | re.I)


def _app(home: Path, like: App | None = None) -> App:
    app = build_app(Settings(home=home))
    upgrade(app.engine)
    app = replace(app, clock=lambda: AT)
    return replace(app, classifier=like.classifier) if like is not None else app


def _mails() -> list[tuple[str, bytes]]:
    return [*((p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*.eml"))),
            *((f"forward-{k}", v.encode()) for k, v in FORWARDS.items()),
            *((m.file, m.raw) for m in corpus()[::10])]


def _store(app: App) -> list[int]:
    with app.sessions.begin() as session:
        return [store_raw(session, "test", key, raw, received_at=AT).inbound_id
                for key, raw in _mails()]


def _what_happened(app: App) -> list[tuple[object, ...]]:
    with app.sessions() as session:
        rows = [(r.source_key, r.status, r.reason, r.case_id)
                for r in session.scalars(select(Inbound).order_by(Inbound.id))]
        cases = [(c.id, c.diarienummer, c.category, c.enhet, sorted(c.flags), c.subject,
                  c.text, c.needs_review, c.extern, c.routine)
                 for c in session.scalars(select(Case).order_by(Case.id))]
        mails = [(o.dedupe_key, o.kind, o.recipient, o.subject, MESSAGE_ID.sub(b"", o.body))
                 for o in session.scalars(select(Outbox).order_by(Outbox.id))]
    return [*rows, *cases, *mails]


def test_batch_and_one_by_one_decide_the_same(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    alone = _app(tmp_path / "alone")
    ids = _store(alone)
    for inbound_id in ids:
        process_inbound(alone, inbound_id)

    batch = _app(tmp_path / "batch", like=alone)
    assert _store(batch) == ids
    outcomes: list[Outcome] = []
    primed = 0
    with caplog.at_level(logging.WARNING, logger="service.pipeline"):
        for part in chunks(ids, 8):
            parsed = prime(batch, part)
            primed += len(parsed)
            process_batch(batch, part, parsed, outcomes)
    assert primed >= 0.9 * len(ids), "nearly every mail is primed"
    assert [o.inbound_id for o in outcomes] == ids
    assert not [r for r in caplog.records if "one by one" in r.getMessage()]

    assert _what_happened(batch) == _what_happened(alone)
