"""What the walks through the seeds' routines (tests/integration/test_seed_*)
share: an app on the real register with a clock the walk chooses, a mail in
through the real pipeline, registration by hand, and the outbox as its
recipients read it."""

from __future__ import annotations

import email
import email.message
import email.policy
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Event, Outbox
from classify.triage import Category, Flag, Triage
from config.settings import SHIPPED_CONFIG, Settings
from deadlines.calendar import is_working_day
from ingest.by_hand import entry
from service.app import App, build_app
from service.by_hand import register_by_hand
from service.intake import Outcome
from service.pipeline import process_inbound
from service.reminders import send_digests
from tests.support import FixedClassifier

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)
TAKEN_BY = "user:registrator@ekby.example"


def sure(category: Category, flags: frozenset[Flag] = frozenset(),
         aspects: frozenset[str] = frozenset()) -> Triage:
    """A triage the test chooses: the walk is about the routine, not the model."""
    return Triage(category=category, confidence=0.95, needs_review=False, flags=flags,
                  aspects=aspects)


def seed_app(tmp_path: Path, database_url: str, at: datetime,
             config: Path = SHIPPED_CONFIG) -> App:
    app = build_app(Settings(home=tmp_path / "home", config=config, database_url=database_url))
    upgrade(app.engine)
    return replace(app, clock=lambda: at)


def edit_routines(root: Path, *changes: tuple[str, str]) -> Path:
    """The copied configuration at ``root`` with routines.yaml changed, each
    (before, after) once and only where ``before`` is found."""
    routines = root / "routines.yaml"
    text = routines.read_text("utf-8")
    for before, after in changes:
        assert before in text, before
        text = text.replace(before, after, 1)
    routines.write_text(text, "utf-8")
    return root


def at(app: App, when: datetime) -> App:
    return replace(app, clock=lambda: when)


def by_hand(app: App, triage: Triage, channel: str, text: str, *, mail: str | None = None,
            phone: str | None = None, consent: bool = False) -> int:
    """Written down by the registrator (service/by_hand.py); anonymous
    without ``mail`` and ``phone``."""
    written = entry(channel, text, TAKEN_BY, app.clock(), email=mail, phone=phone,
                    anonymous=mail is None and phone is None, consent=consent)
    with app.sessions.begin() as session:
        done = register_by_hand(replace(app, classifier=FixedClassifier(triage)), session,
                                written)
    assert done.case_id is not None
    return done.case_id


def deliver_raw(app: App, key: str, raw: bytes, triage: Triage | None = None) -> int:
    """A mail into the funktionsbrevlåda (cases.inbound.store_raw, then
    service.pipeline.process_inbound); classified by the trained model
    unless ``triage`` is given."""
    case_id = _deliver(app, key, raw, triage).case_id
    assert case_id is not None
    return case_id


def mail_in(app: App, key: str, sender: str, subject: str, text: str,
            triage: Triage | None = None, name: str = "") -> Outcome:
    """A plain mail from ``sender`` through the pipeline; what came of it."""
    who = f"{name} <{sender}>" if name else sender
    raw = (f"From: {who}\nTo: synpunkter@ekby.example\nSubject: {subject}\n"
           f"Message-ID: <{key}@seed.example>\nContent-Type: text/plain; charset=utf-8\n\n"
           f"{text}\n").encode()
    return _deliver(app, key, raw, triage)


def _deliver(app: App, key: str, raw: bytes, triage: Triage | None) -> Outcome:
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
    chosen = app if triage is None else replace(app, classifier=FixedClassifier(triage))
    return process_inbound(chosen, inbound)


def case_of(app: App, case_id: int | None) -> Case:
    assert case_id is not None
    with app.sessions() as session:
        case = session.get_one(Case, case_id)
        case.deadlines, case.contact  # noqa: B018 - loaded before the session ends
        return case


def diariefort(app: App, case: Case) -> bool:
    """Registered with a number in the kommun's yearly series (not only forwarded)."""
    year = app.clock().astimezone(STOCKHOLM).year
    return case.diarienummer.startswith(f"{app.kommun.organisation.kommun.prefix} {year}/")


def outbox(app: App, case_id: int | None, kind: str) -> list[Outbox]:
    with app.sessions() as session:
        return list(session.scalars(select(Outbox).where(
            Outbox.case_id == case_id, Outbox.kind == kind).order_by(Outbox.id)))


def morning_digest(app: App, recipient: str) -> str:
    """What ``recipient`` reads in the next working morning's digest (the
    scheduler queues it at 08:00); "" when there is none for them."""
    day = app.clock().astimezone(STOCKHOLM).date() + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    send_digests(app, datetime.combine(day, time(8, 30), tzinfo=STOCKHOLM))
    rows = [o for o in outbox(app, None, "sammanstallning") if o.recipient == recipient]
    return text_of(rows[-1]) if rows else ""


def sent(app: App, case_id: int, kind: str) -> list[tuple[str, str]]:
    """(recipient, text) of the case's outbox rows of ``kind``, in order."""
    return [(row.recipient, text_of(row)) for row in outbox(app, case_id, kind)]


def recipients(app: App, case_id: int | None, kind: str) -> set[str]:
    return {o.recipient for o in outbox(app, case_id, kind)}


def text_of(row: Outbox) -> str:
    """What a person reads: a mail's subject and text, an SMS as it is."""
    if row.channel == "sms":
        return row.body.decode("utf-8")
    mail = email.message_from_bytes(row.body, policy=email.policy.default)
    assert isinstance(mail, email.message.EmailMessage)
    body = mail.get_body(("plain",))
    assert body is not None
    return f"{mail['Subject']}\n{body.get_content()}"


def events(app: App, case_id: int | None) -> list[str]:
    """The kinds of the case's events, in order."""
    return [e.kind for e in case_events(app, case_id)]


def case_events(app: App, case_id: int | None, kind: str | None = None) -> list[Event]:
    with app.sessions() as session:
        query = select(Event).where(Event.case_id == case_id).order_by(Event.id)
        return list(session.scalars(query if kind is None else query.where(Event.kind == kind)))
