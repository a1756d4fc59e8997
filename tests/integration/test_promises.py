"""What is promised to the sender keeps to the routine, past the receipt
too. A matter lotsad elsewhere keeps nothing running here (Söderköping 000:
other authorities' matters, "hänvisa personen dit"; a citizen told to turn to
Försäkringskassan must not later hear "vi är inte klara än"); praise, an
appeal and a medborgarförslag are promised no date, so no delay notice
follows them (Hässelby-Vällingby 002: the delay notice is for the
utredning's 14 dagar)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Outbox
from classify.triage import Category, Flag, Triage
from config.settings import Settings
from service.app import App, build_app
from service.pipeline import process_inbound
from service.reminders import send_delay_notices, send_digests
from tests.integration.test_reminders import _hasselby_for_hemtjanst_norr
from tests.support import FixedClassifier

STOCKHOLM = ZoneInfo("Europe/Stockholm")
RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=STOCKHOLM)  # Monday; utredning due 16 November


def _case(app: App, key: str, text: str, triage: Triage) -> Case:
    raw = (f"From: Anna <anna.{key}@example.se>\nTo: synpunkter@ekby.example\n"
           f"Subject: Till er\nMessage-ID: <{key}@example.se>\n\n{text}\n").encode()
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
    case_id = process_inbound(replace(app, classifier=FixedClassifier(triage)), inbound).case_id
    assert case_id is not None
    with app.sessions() as session:
        case = session.get_one(Case, case_id)
        case.deadlines  # noqa: B018 - loaded before the session ends
        return case


def test_nothing_runs_on_a_lotsad_case_and_nothing_is_promised_where_none_is_due(
        tmp_path: Path) -> None:
    app = build_app(Settings(home=tmp_path / "home",
                             config=_hasselby_for_hemtjanst_norr(tmp_path)))
    upgrade(app.engine)
    app = replace(app, clock=lambda: RECEIVED)
    sure = {"confidence": 0.95, "needs_review": False}
    lotsad = _case(app, "fk", "Försäkringskassan har dragit in min sjukpenning, hjälp mig.",
                   Triage(category=Category.KLAGOMAL, flags=frozenset({Flag.EXTERN}), **sure))
    assert lotsad.extern == "forsakringskassan" and lotsad.deadlines == []
    praise = _case(app, "b", "Tack till hemtjänsten i Lövsta för den fina omsorgen om pappa.",
                   Triage(category=Category.BEROM, **sure))
    appeal = _case(app, "o", "Jag överklagar beslutet om hemtjänst i Lövsta.",
                   Triage(category=Category.KLAGOMAL, flags=frozenset({Flag.OVERKLAGANDE}),
                          **sure))
    complaint = _case(app, "k", "Hemtjänsten i Lövsta har slutat komma på kvällarna.",
                      Triage(category=Category.KLAGOMAL, **sure))
    assert praise.deadlines and not any(d.promised for d in praise.deadlines)
    # An appeal is promised nothing (and where its routine excludes appeals,
    # as Söderköping's does, it has no deadlines at all).
    assert not any(d.promised for d in appeal.deadlines)
    assert complaint.deadlines and all(d.promised for d in complaint.deadlines)
    # Past the utredning deadline only the complaint's sender is told of a delay.
    sent = send_delay_notices(app, datetime(2026, 11, 17, 9, 0, tzinfo=STOCKHOLM))
    assert len(sent) == 1
    with app.sessions() as session:
        assert session.get_one(Outbox, sent[0]).case_id == complaint.id
    # The chef's digest still lists the praise: the enhet's own deadline.
    digests = send_digests(replace(app, clock=lambda: datetime(2026, 11, 12, 8, 30,
                                                               tzinfo=STOCKHOLM)))
    with app.sessions() as session:
        bodies = " ".join(email.message_from_bytes(session.get_one(Outbox, i).body,
                                                   policy=email.policy.default)
                          .get_body().get_content() for i in digests)  # type: ignore[union-attr]
    assert praise.enhet == complaint.enhet and praise.diarienummer in bodies
