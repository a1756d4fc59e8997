"""Every message of the real-mail corpus (``tests/realmail.py``) through the
embedded mode as users run it (the shipped Ekby configuration, the trained
classifier, SQLite, the outbox folder), each delivered a second time with
one more Received: header; and all of them fetched again from Dovecot
after a UIDVALIDITY change. Asserted per file: no receipt or notice to a
machine, nothing automatic quarantined, no person's mail quarantined or
its text lost, no crash, and no second case for a second copy."""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Contact, Event, ImapCheckpoint, Inbound, InboundStatus, Outbox
from config.settings import Settings
from ingest.imap import ImapMailbox
from ingest.imapurl import parse_imap_url
from notify.mail import wire_address
from service.app import App, build_app
from service.pipeline import pending_inbound, process_inbound
from tests import realmail
from tests.harness.dovecot import Dovecot
from workers.embedded import run_once
from workers.listener import Listener

MACHINES = ("bounce", "autoreply", "list")
SECOND = "realmail-again"


def _app(home: Path) -> App:
    app = build_app(Settings(home=home))
    upgrade(app.engine)
    return app


@pytest.mark.long(seconds=65)
def test_real_mail_in_the_embedded_mode(tmp_path: Path) -> None:
    mails = realmail.corpus()
    app = _app(tmp_path / "home")
    with app.sessions.begin() as session:
        for m in mails:
            store_raw(session, "realmail", m.file, m.raw, received_at=app.clock())
        for m in mails:  # the same mail by a second route
            store_raw(session, SECOND, m.file, realmail.with_another_received(m.raw),
                      received_at=app.clock())
    report = run_once(app)
    assert report.failed == 0

    with app.sessions() as session:
        rows = {(r.source, r.source_key): r for r in session.scalars(select(Inbound))}
        by_id = {r.id: r for r in rows.values()}
        cases = {c.inbound_id: c for c in session.scalars(select(Case))}
        receipts = Counter(session.scalars(select(Outbox.case_id).where(
            Outbox.kind == "mottagningsbevis")))
        contacts = {wire_address(a) for a in session.scalars(  # as the receipts name them
            select(Contact.email).where(Contact.email.is_not(None))) if a}
        # A routine that de-identifies at registration (Nacka) masks the
        # sender's own name in the case's text: those words are not lost.
        deidentified = set(session.scalars(select(Event.case_id).where(
            Event.kind == "case.deidentified")))
        masked_names = {case_id: realmail.words(name or "") for case_id, name in session.execute(
            select(Contact.case_id, Contact.name).where(Contact.case_id.in_(deidentified)))}
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in (tmp_path / "home" / "outbox").glob("*.eml")]
    receipted = {str(m["To"]) for m in sent if m["Auto-Submitted"] == "auto-replied"}

    failures: list[str] = []
    for m in mails:
        first, again = rows[("realmail", m.file)], rows[(SECOND, m.file)]
        case = cases.get(first.id)
        said = f"{m.file} ({m.kind}): {first.status} {first.reason or ''}"[:200]
        original = _duplicate_of(first, by_id)
        if "internal-error" in (first.reason or "") + (again.reason or ""):
            failures.append(f"crashed: {said}")
        if first.status != InboundStatus.QUARANTINED and (
                _duplicate_of(again, by_id) is None or _root(again, by_id) != _root(first, by_id)):
            failures.append(f"the second copy not known as one: {said} / {again.reason}")
        if m.kind in MACHINES:
            if first.status != InboundStatus.IGNORED or case is not None:
                failures.append(f"a machine's mail not set aside: {said}")
        elif m.kind == "spam" and realmail.marked_as_spam(m.raw):
            if first.status != InboundStatus.IGNORED or not (first.reason or "").startswith(
                    "spam:"):
                failures.append(f"marked spam, not set aside as spam: {said}")
        elif m.kind == "human":
            if original is not None:  # the corpus holds the same mail twice (LF and CRLF)
                first = original
                case = cases.get(first.id)
            if first.status != InboundStatus.PROCESSED or first.case_id is None:
                failures.append(f"a person's mail set aside or quarantined: {said}")
            elif case is not None:
                failures.extend(_text_kept(m, case, masked_names.get(case.id, set())))
    failures += [f"case {c} has {n} receipts" for c, n in receipts.items() if n > 1]
    failures += [f"a receipt to {a}, who wrote no case" for a in receipted - contacts]
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)

    kinds = Counter((m.kind, rows[("realmail", m.file)].status) for m in mails)
    print("realmail:", dict(sorted(kinds.items())))


def _root(row: Inbound, by_id: dict[int, Inbound]) -> int:
    """The first copy of the mail ``row`` holds (the corpus has some twice)."""
    seen = {row.id}
    while (earlier := _duplicate_of(row, by_id)) is not None and earlier.id not in seen:
        row = earlier
        seen.add(row.id)
    return row.id


def _duplicate_of(row: Inbound, by_id: dict[int, Inbound]) -> Inbound | None:
    """The row ``row`` was set aside as a second copy of, if it was."""
    found = re.match(r"duplicate: samma brev som inkommande nr (\d+)", row.reason or "")
    return by_id.get(int(found.group(1))) if found else None


def _text_kept(m: realmail.RealMail, case: Case, masked: set[str]) -> list[str]:
    """At least 90 % of the words a person can read in the mail are in the
    case, but for the sender's own name where the routine masked it."""
    expected = realmail.oracle_words(m.raw) - masked
    if len(expected) < 5:
        return []
    kept = realmail.words(f"{case.subject}\n{case.text}")
    lost = expected - kept
    if len(lost) > 0.1 * len(expected):
        return [f"text lost: {m.file}: {len(lost)} of {len(expected)} words, e.g. "
                f"{sorted(lost)[:8]}"]
    return []


@pytest.mark.long(seconds=47)
def test_real_mail_fetched_again_after_a_uidvalidity_change(tmp_path: Path) -> None:
    """All of it in a real Dovecot, stored but (a crash) never moved; the
    server then gives the mailbox a new UIDVALIDITY: the listener rescans,
    and nothing becomes a second case or gets a second receipt."""
    mails = realmail.corpus()
    dovecot = Dovecot(tmp_path / "dovecot")
    user, password = "synpunkter@ekby.example", "hemligt-2026"
    dovecot.add_user(user, password)
    dovecot.start()
    try:
        dovecot.append_many(user, password, [m.raw for m in mails])
        app = _app(tmp_path / "home")
        url = dovecot.url(user, password)

        def listener() -> Listener:
            box = ImapMailbox(parse_imap_url(url))
            box.connect()
            box.mark_stored = lambda uids: None  # type: ignore[method-assign]
            return Listener(app, box, lambda _i: None)

        first = listener()
        stored = first.sync()
        first.mailbox.close()
        for inbound_id in pending_inbound(app):
            process_inbound(app, inbound_id)
        cases_before = _count(app, Case.id)
        outbox_before = _count(app, Outbox.id)
        with app.sessions.begin() as session:  # as if the server rebuilt its UIDs
            session.get_one(ImapCheckpoint, first.source).uidvalidity = 1
        again = listener()
        stored_again = again.sync()
        again.mailbox.close()
        for inbound_id in pending_inbound(app):
            process_inbound(app, inbound_id)
    finally:
        dovecot.close()
    assert len(stored) == len(mails)
    assert stored_again == []
    assert (_count(app, Case.id), _count(app, Outbox.id)) == (cases_before, outbox_before)


def _count(app: App, column: object) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count(column))) or 0  # type: ignore[arg-type]
