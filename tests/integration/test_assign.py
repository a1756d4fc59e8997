"""A handläggare assigned to a case. Essunga (003): "Registrator skickar en
bekräftelse inom 5 arbetsdagar med namn och kontaktuppgifter till
handläggaren ... med kopia till handläggaren". The receipt promises that
bekräftelse; assigning the handläggare sends it and meets the stage."""

from __future__ import annotations

import email
import email.policy
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Outbox
from classify.triage import Category, Triage
from config.settings import SHIPPED_CONFIG, Settings
from service.app import App, build_app
from service.assign import NotAHandlerError, assign
from service.pipeline import process_inbound
from tests.support import FixedClassifier

MONDAY = datetime(2027, 3, 1, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
HANDLER = "nils.gren@ekby.example"


def _essunga_for_gata_park(tmp_path: Path) -> Path:
    root = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, root)
    routines = root / "routines.yaml"
    routines.write_text(routines.read_text("utf-8").replace(
        "    gata_park: hasselby_stadsmiljo", "    gata_park: essunga"), "utf-8")
    org = root / "organisation.yaml"
    org.write_text(org.read_text("utf-8").replace(
        "        chef: {namn: Robert Ström, epost: robert.strom@ekby.example}\n",
        "        chef: {namn: Robert Ström, epost: robert.strom@ekby.example}\n"
        "        handläggare:\n"
        "          - {namn: Nils Gren, titel: gatuingenjör, epost: nils.gren@ekby.example,"
        " telefon: 0123-456 78}\n"), "utf-8")
    return root


@pytest.fixture
def app(tmp_path: Path) -> App:
    built = build_app(Settings(home=tmp_path / "home", config=_essunga_for_gata_park(tmp_path)))
    upgrade(built.engine)
    triage = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)
    return replace(built, classifier=FixedClassifier(triage), clock=lambda: MONDAY)


def test_assigning_the_handlaggare_sends_the_promised_bekraftelse(app: App) -> None:
    raw = (b"From: Karin <karin@example.se>\nTo: synpunkter@ekby.example\nSubject: Gatlampa\n"
           b"Message-ID: <g1@example.se>\n\nGatlampan p\xc3\xa5 Ekv\xc3\xa4gen \xc3\xa4r trasig.\n")
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", "g1", raw, received_at=MONDAY).inbound_id
    case_id = process_inbound(app, inbound).case_id
    assert case_id is not None
    with app.sessions.begin() as session:
        case = session.get_one(Case, case_id)
        assert (case.enhet, case.routine) == ("gata_park", "essunga")
        with pytest.raises(NotAHandlerError):
            assign(app, session, case, "lars.oberg@ekby.example", "user:eva")
        done = assign(app, session, case, HANDLER, "user:eva")
        assert len(done.outbox_ids) == 2
        rows = {o.recipient: o for o in session.scalars(select(Outbox).where(
            Outbox.id.in_(done.outbox_ids)))}
        confirmation = email.message_from_bytes(rows["karin@example.se"].body,
                                                policy=email.policy.default)
        assert isinstance(confirmation, email.message.EmailMessage)
        text = confirmation.get_content()
        assert "Nils Gren, gatuingenjör," in text and "0123-456 78" in text
        assert case.diarienummer in confirmation["Subject"]
        assert HANDLER in rows  # the copy to the handläggare
        assert [d.met_at is not None for d in case.deadlines if d.kind == "bekraftelse"] == [True]
