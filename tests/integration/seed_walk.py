"""What the walks through the seeds' routines (tests/integration/test_seed_*)
share: a mail in through the real pipeline, what the outbox holds for a
case, and the text of a queued mail."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from email.message import EmailMessage

from sqlalchemy import select

from cases.inbound import store_raw
from cases.models import Case, Event, Outbox
from classify.triage import Triage
from service.app import App
from service.intake import Outcome
from service.pipeline import process_inbound
from tests.support import FixedClassifier


def mail_in(app: App, key: str, sender: str, subject: str, text: str,
            triage: Triage | None = None, name: str = "") -> Outcome:
    """One mail through the pipeline: stored raw, parsed, screened, (with
    ``triage``: classified as the test says), routed and registered."""
    who = f"{name} <{sender}>" if name else sender
    raw = (f"From: {who}\nTo: synpunkter@ekby.example\nSubject: {subject}\n"
           f"Message-ID: <{key}@seed.example>\nContent-Type: text/plain; charset=utf-8\n\n"
           f"{text}\n").encode()
    with app.sessions.begin() as session:
        inbound = store_raw(session, "seed", key, raw, received_at=app.clock()).inbound_id
    return process_inbound(app if triage is None else replace(
        app, classifier=FixedClassifier(triage)), inbound)


def case_of(app: App, case_id: int | None) -> Case:
    assert case_id is not None
    with app.sessions() as session:
        case = session.get_one(Case, case_id)
        _ = (case.deadlines, case.contact)  # loaded while the session is open
        return case


def outbox(app: App, case_id: int | None, kind: str) -> list[Outbox]:
    with app.sessions() as session:
        return list(session.scalars(select(Outbox).where(
            Outbox.case_id == case_id, Outbox.kind == kind).order_by(Outbox.id)))


def recipients(app: App, case_id: int | None, kind: str) -> set[str]:
    return {o.recipient for o in outbox(app, case_id, kind)}


def text_of(row: Outbox) -> str:
    """The text a person reads: a mail's body (subject first), an SMS as is."""
    if row.channel == "sms":
        return row.body.decode("utf-8")
    mail = email.message_from_bytes(row.body, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return f"{mail['Subject']}\n\n{mail.get_content()}"


def events(app: App, case_id: int | None, kind: str) -> list[Event]:
    with app.sessions() as session:
        return list(session.scalars(select(Event).where(
            Event.case_id == case_id, Event.kind == kind).order_by(Event.id)))
