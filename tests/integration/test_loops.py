"""Mail loops, in the embedded mode with real Maildirs and outboxes: two
Synpunkt installations that answer each other, and out-of-office replies that
answer every receipt. Each round moves every outgoing mail to the inbox it is
addressed to, as mail transport would, and runs one pass (`run --once`'s
run_once) on each side. The automatic mails sent must stay bounded.

The bounds, and why they hold:
- Headers intact: a receipt carries `Auto-Submitted: auto-replied` and a
  Message-ID of the sender's own domain, so the other side keeps it as
  ignored automatic mail: 1 automatic mail in all.
- Headers stripped on the way (a forwarder that drops them) or an
  out-of-office that sets none and writes a new subject each time: nothing
  marks the mail as automatic, but SYNPUNKT_AUTO_REPLY_LIMIT (3 per sender
  per 24 h) caps what each side sends to one address: at most 3 per side."""

from __future__ import annotations

import email
import email.message
import email.policy
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from cases.migrate import upgrade
from classify.triage import Category, Triage
from config.settings import SHIPPED_CONFIG, Settings
from service.app import App, build_app
from tests.support import FixedClassifier
from workers.embedded import run_once

ROUNDS = 8
LIMIT = 3  # SYNPUNKT_AUTO_REPLY_LIMIT's default, per sender per 24 hours
EKBY, NORRBY = "synpunkter@ekby.example", "synpunkter@norrby.example"
CITIZEN = "karin.holm@example.se"
AUTO_HEADERS = ("Auto-Submitted", "X-Auto-Response-Suppress", "X-Autoreply", "Precedence")


@dataclass
class Side:
    app: App
    address: str
    seen: set[str] = field(default_factory=set)

    def drop(self, name: str, raw: bytes) -> None:
        tmp = self.app.settings.inbox / "tmp" / name
        tmp.parent.mkdir(parents=True, exist_ok=True)
        (self.app.settings.inbox / "new").mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(raw)
        tmp.rename(self.app.settings.inbox / "new" / name)

    def sent(self) -> list[tuple[str, email.message.EmailMessage]]:
        """The mails this side sent since the last call."""
        out = []
        for path in sorted(self.app.settings.outbox.glob("*.eml")):
            if path.name not in self.seen:
                self.seen.add(path.name)
                msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                assert isinstance(msg, email.message.EmailMessage)
                out.append((path.name, msg))
        return out


def _side(tmp_path: Path, name: str, domain: str, prefix: str) -> Side:
    config = tmp_path / f"config-{name}"
    shutil.copytree(SHIPPED_CONFIG, config)
    org = config / "organisation.yaml"
    text = org.read_text("utf-8").replace("ekby.example", domain).replace(
        "diarieprefix: EKBY", f"diarieprefix: {prefix}")
    org.write_text(text, "utf-8")
    app = build_app(Settings(home=tmp_path / f"home-{name}", config=config))
    upgrade(app.engine)
    sure = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)
    return Side(replace(app, classifier=FixedClassifier(sure)), f"synpunkter@{domain}")


def _citizen_mail(sender: str, to: str, n: int, subject: str = "Hemtjänsten kom inte") -> bytes:
    return (f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
            f"Message-ID: <start{n}@example.se>\nDate: Mon, 23 Nov 2026 09:00:00 +0100\n\n"
            "Hemtjänsten kom inte till min mamma i går kväll.\n").encode()


def _automatic(msg: email.message.EmailMessage) -> bool:
    return msg["Auto-Submitted"] not in (None, "no")


def _transport(msg: email.message.EmailMessage, strip: bool) -> bytes:
    if strip:
        for header in AUTO_HEADERS:
            del msg[header]
    return msg.as_bytes()


def _two_installations(tmp_path: Path, strip: bool) -> dict[str, int]:
    a = _side(tmp_path, "a", "ekby.example", "EKBY")
    b = _side(tmp_path, "b", "norrby.example", "NORR")
    by_address = {a.address: a, b.address: b}
    # A mail in Norrby's name reaches Ekby (forwarded, or a forged From): Ekby answers Norrby.
    a.drop("start", _citizen_mail(b.address, a.address, 0))
    counts = {a.address: 0, b.address: 0}
    for n in range(ROUNDS):
        for side in (a, b):
            run_once(side.app, poll_sms=False)
        for side in (a, b):
            for name, msg in side.sent():
                target = by_address.get(str(msg["To"]))
                if target is None:
                    continue  # a notice to a chef: it stays inside the kommun
                counts[side.address] += 1
                target.drop(f"r{n}-{name}", _transport(msg, strip))
    return counts


@pytest.mark.parametrize("strip", [False, True], ids=["headers-intact", "headers-stripped"])
def test_two_installations_answering_each_other_stay_bounded(tmp_path: Path,
                                                             strip: bool) -> None:
    counts = _two_installations(tmp_path, strip)
    total = sum(counts.values())
    print(f"\nloop two installations ({'headers stripped' if strip else 'headers intact'}), "
          f"{ROUNDS} rounds: Ekby sent {counts[EKBY]}, Norrby sent {counts[NORRBY]}, "
          f"total {total}")
    assert counts[EKBY] >= 1  # the loop really started
    if not strip:
        assert total == 1  # Norrby ignores Ekby's Auto-Submitted receipt
    assert counts[EKBY] <= LIMIT and counts[NORRBY] <= LIMIT and total <= 2 * LIMIT


def _out_of_office(tmp_path: Path, polite: bool) -> tuple[int, int]:
    a = _side(tmp_path, "a", "ekby.example", "EKBY")
    a.drop("start", _citizen_mail(CITIZEN, a.address, 0))
    receipts = replies = 0
    for n in range(ROUNDS):
        run_once(a.app, poll_sms=False)
        for name, msg in a.sent():
            if str(msg["To"]) != CITIZEN:
                continue
            receipts += _automatic(msg)
            replies += 1  # the out-of-office answers every mail it gets
            headers = (f"Auto-Submitted: auto-replied\nX-Autoreply: yes\n"
                       f"In-Reply-To: {msg['Message-ID']}\n"
                       f"Subject: Automatiskt svar: {msg['Subject']}\n") if polite else (
                f"Subject: Jag är ledig till 1 december ({n}-{name})\n")
            raw = (f"From: {CITIZEN}\nTo: {a.address}\n{headers}"
                   f"Message-ID: <ooo{n}-{name}@example.se>\n\n"
                   "Jag är på semester och läser inte min e-post.\n").encode()
            a.drop(f"ooo{n}-{name}", raw)
    return receipts, replies


@pytest.mark.parametrize("polite", [True, False], ids=["auto-submitted", "badly-behaved"])
def test_an_out_of_office_answering_every_receipt_stays_bounded(tmp_path: Path,
                                                                polite: bool) -> None:
    receipts, replies = _out_of_office(tmp_path, polite)
    print(f"\nloop out-of-office ({'Auto-Submitted' if polite else 'no headers, new subject'}"
          f"), {ROUNDS} rounds: receipts sent {receipts}, out-of-office replies {replies}")
    assert receipts >= 1
    if polite:
        assert receipts == 1  # the reply is automatic mail: kept aside, never answered
    assert receipts <= LIMIT
