"""Hostile mail and SMS through the real program: one embedded inbox with
every hostile input and two ordinary mails after them (`synpunkt run --once
--json`), the same hostile set through the production pipeline on
PostgreSQL, the zip bomb downloaded from the web application, and the SMS
channel's longest and strangest texts against the gateway emulator."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Event, Inbound, InboundStatus, Outbox, User
from classify.triage import Category, Triage
from config.settings import Limits, Settings
from notify.gsm7 import septets
from review.app import create_app
from review.passwords import hash_password
from service import pipeline
from service.app import App, build_app
from service.pipeline import pending_inbound, process_inbound
from tests import hostile
from tests.integration.test_sms import World, _world
from tests.support import FIXTURES, FixedClassifier, run_cli

ORDINARY = ("01_hemtjanst_kom_inte.eml", "03_sophamtning_uteblir.eml")
QUARANTINED = {"big_attachment": "too-large", "many_parts": "too-many-parts",
               "deep_nesting": "too-deep"}
RECEIPT = {"from", "to", "subject", "date", "message-id", "in-reply-to", "references",
           "auto-submitted", "x-auto-response-suppress", "mime-version", "content-type",
           "content-transfer-encoding"}
NOTICE = RECEIPT - {"in-reply-to", "references"}
URGENT = {"importance", "x-priority", "priority"}
PASSWORD = "ett långt lösenord 2026"
# The suite's big attachment is 5 MB over a 4 MB limit: the same code path as
# 50 MB over 40 MB, which `benchmarks/hostile_inbox.py` runs with its figures.
BIG, LIMIT = 5 * 2**20, {"SYNPUNKT_LIMIT_MESSAGE_BYTES": str(4 * 2**20)}


def _drop(inbox: Path, mails: dict[str, bytes]) -> None:
    for i, (name, raw) in enumerate(mails.items()):
        (inbox / "new" / f"{i:03d}_{name}").write_bytes(raw)


def _statuses(app: App) -> dict[str, tuple[str, str | None, int | None]]:
    with app.sessions() as session:
        rows = session.execute(select(Inbound.source_key, Inbound.status, Inbound.reason,
                                      Inbound.case_id)).all()
    return {key.split("_", 1)[1]: (status, reason, case) for key, status, reason, case in rows}


def _check_outgoing(raw: bytes) -> email.message.EmailMessage:
    """One outgoing mail: exactly the headers we write, each on one line,
    exactly one recipient, nothing a citizen added."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    names = {k.lower() for k in msg}
    assert len(names) == len(msg.keys())  # no header twice
    if msg["Auto-Submitted"] == "auto-replied":
        assert names in (RECEIPT, RECEIPT - {"in-reply-to"}, RECEIPT - {"in-reply-to",
                                                                         "references"})
    else:
        assert names - URGENT == NOTICE and names & URGENT in (set(), URGENT)
    assert len(msg["To"].addresses) == 1
    for name in msg:
        assert not re.search(r"[\r\n\x00]", str(msg[name])), (name, msg[name])
    return msg


def test_a_hostile_inbox_in_one_embedded_run(home: Path) -> None:
    mails = {**hostile.hostile_mails(BIG),
             **{name: (FIXTURES / name).read_bytes() for name in ORDINARY}}
    _drop(home / "inbox", mails)
    proc = run_cli("run", "--once", "--json", home=home, env=LIMIT)  # exit 0, or it raises
    report = json.loads(proc.stdout.splitlines()[0])
    assert report["stored"] == report["processed"] == len(mails)

    app = build_app(Settings(home=home, limits=Limits(message_bytes=4 * 2**20)))
    final = _statuses(app)
    assert set(final) == set(mails)
    for name, (status, reason, case_id) in final.items():
        if name in QUARANTINED:
            assert status == InboundStatus.QUARANTINED and reason is not None
            assert reason.startswith(QUARANTINED[name] + ": ") and "SYNPUNKT_LIMIT_" in reason
        else:  # lookalikes, injections, html, rtl, zip bomb and the ordinary ones
            assert status == InboundStatus.PROCESSED and case_id is not None, (name, reason)
    with app.sessions() as session:
        big = session.scalar(select(Inbound.raw).where(Inbound.source_key.like("%_big_attachment")))
        assert big == mails["big_attachment"]  # kept, byte for byte, for a person to see

    outgoing = sorted((home / "outbox").glob("*.eml"))
    parsed = [_check_outgoing(path.read_bytes()) for path in outgoing]
    receipts = [m for m in parsed if m["Auto-Submitted"] == "auto-replied"]
    to = [m["To"].addresses[0].addr_spec for m in receipts]
    assert to.count("birgitta.holm@example.se") == 1 and to.count("ahmed.yusuf@telia.example") == 1
    assert len(receipts) == len(mails) - len(QUARANTINED)
    assert hostile.INJECTED_BCC not in to

    with app.sessions() as session:  # lookalikes carry a warning in the timeline
        warned = set(session.scalars(select(Event.case_id).where(
            Event.kind == "case.note", Event.actor == "system:ingest")))
    assert warned == {case for name, (_s, _r, case) in final.items()
                      if name.startswith("lookalike_")}

    _zip_bomb_is_downloaded_as_an_attachment(app, final["zip_bomb"][2])


def _zip_bomb_is_downloaded_as_an_attachment(app: App, case_id: int | None) -> None:
    assert case_id is not None
    with app.sessions.begin() as session:
        session.add(User(email="eva@ekby.example", role="registrator", enhet=None,
                         password_hash=hash_password(PASSWORD), created_at=datetime.now(UTC)))
    client = TestClient(create_app(app, lambda _i: None), base_url="http://testserver",
                        client=("127.0.0.1", 50000))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    login = client.post("/login", data={"email": "eva@ekby.example", "password": PASSWORD,
                                        "csrf": token.group(1)}, follow_redirects=False)
    assert login.status_code == 303
    answer = client.get(f"/cases/{case_id}/bilagor/0")
    assert answer.status_code == 200
    assert answer.content == hostile.zip_bomb()  # the bytes as they came, never unpacked
    assert answer.headers["content-disposition"] == "attachment; filename*=UTF-8''bilder.zip"
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_hostile_set_drains_through_the_production_pipeline(
        tmp_path: Path, postgres_url: str) -> None:
    base = build_app(Settings(home=tmp_path / "home", database_url=postgres_url,
                              limits=Limits(message_bytes=4 * 2**20)))
    upgrade(base.engine)
    app = replace(base, classifier=FixedClassifier(Triage(
        category=Category.KLAGOMAL, confidence=0.9, needs_review=False)))
    mails = hostile.hostile_mails(BIG)
    with app.sessions.begin() as session:  # as the listener stores them from IMAP
        for i, (name, raw) in enumerate(mails.items()):
            store_raw(session, "imap:INBOX", f"{i:03d}_{name}", raw, received_at=app.clock())
    outcomes = [process_inbound(app, inbound_id) for inbound_id in pending_inbound(app)]
    assert pending_inbound(app) == []  # the queue drained: nothing stays "received"
    assert len(outcomes) == len(mails)
    final = _statuses(app)
    assert {n for n, (status, _r, _c) in final.items()
            if status == InboundStatus.QUARANTINED} == set(QUARANTINED)
    assert all(reason is None or not reason.startswith("internal-error")
               for _s, reason, _c in final.values())
    with app.sessions() as session:
        bodies = session.scalars(select(Outbox.body).where(Outbox.channel == "email")).all()
    assert len(bodies) >= len(mails) - len(QUARANTINED)
    for body in bodies:
        _check_outgoing(body)


@pytest.fixture
def elks(tmp_path: Path) -> Iterator[World]:
    for world in _world(tmp_path, "46elks"):
        world.app = replace(world.app, classifier=FixedClassifier(Triage(
            category=Category.SYNPUNKT, confidence=0.9, needs_review=False)))
        yield world


@pytest.mark.parametrize(("sender", "text"), [
    ("+46701112233", hostile.SMS_LONG), ("+46702223344", hostile.SMS_EMOJI)])
def test_a_long_or_emoji_only_sms_becomes_a_case_with_a_gsm7_receipt(
        elks: World, sender: str, text: str) -> None:
    elks.gateway.incoming(sender, text)
    elks.settle(0.6)
    [case] = elks.cases()
    assert case.text == text.strip() and case.subject.startswith("Sms: ")
    [receipt] = elks.receipts_to(sender)
    assert case.diarienummer in receipt
    length = septets(receipt)
    assert length is not None and length <= 160  # GSM-7, and one SMS
    with elks.app.sessions() as session:
        assert session.scalars(select(Inbound.status)).all() == [InboundStatus.PROCESSED]
        assert session.get_one(Case, case.id).channel == "sms"


@pytest.mark.postgres
def test_large_messages_are_parsed_one_at_a_time_small_ones_side_by_side(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing takes several times a message's size in memory: over
    parse_alone_bytes, one worker process parses one message at a time."""
    base = build_app(Settings(home=tmp_path / "home", database_url=postgres_url,
                              limits=Limits(parse_alone_bytes=50_000)))
    upgrade(base.engine)
    app = replace(base, classifier=FixedClassifier(Triage(
        category=Category.KLAGOMAL, confidence=0.9, needs_review=False)))
    ordinary = (FIXTURES / ORDINARY[0]).read_bytes()
    large = re.sub(rb"\r?\n\r?\n", lambda m: m.group(0) + b"Mycket text. " * 8000 + b"\n",
                   ordinary, count=1)
    assert len(ordinary) < 50_000 < len(large)
    with app.sessions.begin() as session:
        ids = {store_raw(session, "imap:INBOX", f"{kind}{i}", raw.replace(
            b"Message-ID: <", f"Message-ID: <{kind}{i}.".encode(), 1)).inbound_id: kind
            for i in range(4) for kind, raw in (("large", large), ("small", ordinary))}
    inside = {"large": 0, "small": 0}
    peak = {"large": 0, "small": 0}
    lock = threading.Lock()
    plain_parse = pipeline.parse

    def watched_parse(raw: bytes, *args: Any) -> Any:
        kind = "large" if len(raw) > 50_000 else "small"
        with lock:
            inside[kind] += 1
            peak[kind] = max(peak[kind], inside[kind])
        time.sleep(0.3)  # long enough for the other threads to arrive
        try:
            return plain_parse(raw, *args)
        finally:
            with lock:
                inside[kind] -= 1

    monkeypatch.setattr(pipeline, "parse", watched_parse)
    threads = [threading.Thread(target=process_inbound, args=(app, i)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert pending_inbound(app) == []
    assert peak["large"] == 1
    assert peak["small"] >= 2  # the threads did overlap: small ones are not held back
