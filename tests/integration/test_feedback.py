"""Återkoppling sent from Synpunkt, and a reply that is not satisfied.
Söderköping (000): the chef gives återkoppling "via registrator" and keeps it
documented; "Om den enskilde inte är nöjd ... hjälper ... till kontakt med
närmast högre chef". The chef writes it on the case page, it goes to the
citizen and stays with the case; a reply saying the person is not satisfied
is marked and the sektorchef is told."""

from __future__ import annotations

import email
import email.policy
import shutil
from pathlib import Path

from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Event, Outbox
from classify.triage import Category, Flag, Triage
from config.settings import SHIPPED_CONFIG, Settings
from deadlines.routine import deadlines_for
from notify.swedish import long_date
from service.app import build_app
from service.intake import received_at_local
from service.pipeline import process_inbound
from tests.integration.seed_walk import morning_digest
from tests.integration.test_web import (  # noqa: F401
    CHEF_NORR,
    REGISTRATOR,
    Site,
    _register,
    csrf_of,
    site,
)

SEKTORCHEF = "maria.berg@ekby.example"  # Äldreomsorg: Hemtjänst Norr's next chef up


def _reply(web: Site, case: Case, key: str, text: str) -> None:
    raw = (f"From: Anna <anna.a@example.se>\nTo: synpunkter@ekby.example\n"
           f"Subject: Re: Återkoppling på ditt ärende [{case.diarienummer}]\n"
           f"Message-ID: <{key}@example.se>\n\n{text}\n").encode()
    with web.app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=web.app.clock()).inbound_id
    assert process_inbound(web.app, inbound).case_id == case.id


def test_the_chef_sends_feedback_and_hears_nothing_until_the_citizen_is_unhappy(
        site: Site) -> None:  # noqa: F811
    chef = site.login(CHEF_NORR)
    case_id = site.cases["norr"]
    page = chef.get(f"/cases/{case_id}")
    assert "Skicka som återkoppling till avsändaren" in page.text
    words = "Vi har gått igenom schemat med personalen i Lövsta och lagt till ett extra besök."
    done = chef.post(f"/cases/{case_id}/note", data={"note": words, "kind": "feedback_send",
                                                     "csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "Återkopplingen är skickad" in done.text
    with site.app.sessions() as session:
        case = session.get_one(Case, case_id)
        assert case.status == "feedback_given"
        sent = session.scalars(select(Outbox).where(Outbox.case_id == case_id,
                                                    Outbox.kind == "aterkoppling")).all()
        assert [(o.recipient, o.status) for o in sent] == [("anna.a@example.se", "sent")]
        mail = email.message_from_bytes(sent[0].body, policy=email.policy.default)
        assert isinstance(mail, email.message.EmailMessage)
        assert words in mail.get_content() and case.diarienummer in mail["Subject"]
        assert mail["Auto-Submitted"] == "no"  # a person wrote it
    _reply(site, case, "r1", "Tack, det låter bra.")
    _reply(site, case, "r2", "Jag är inte nöjd med svaret. Det har hänt igen i veckan.\n\n"
           "Den 3 mars skrev Ekby kommun:\n> Vi har gått igenom schemat")
    with site.app.sessions() as session:
        unhappy = session.scalars(select(Event).where(Event.case_id == case_id,
                                                      Event.kind == "case.dissatisfied")).all()
        assert [e.detail["told"] for e in unhappy] == [SEKTORCHEF]
        notices = session.scalars(select(Outbox).where(Outbox.case_id == case_id,
                                                       Outbox.recipient == SEKTORCHEF,
                                                       Outbox.dedupe_key.like("missnoje:%"))).all()
        assert len(notices) == 1
        notice = email.message_from_bytes(notices[0].body, policy=email.policy.default)
        assert isinstance(notice, email.message.EmailMessage)
        assert "inte nöjd" in notice.get_content() and case.diarienummer in notice["Subject"]


def test_the_sektorchef_is_told_of_every_klagomal_under_soderkoping(
        site: Site) -> None:  # noqa: F811
    """Söderköping (000): the registrator sends it to the chef concerned
    "samt informerar sektorchef" (in the sektorchef's morning digest); a
    synpunkt under the same routine is not told to the sektorchef."""
    with site.app.sessions() as session:
        told = {case: sorted(o.recipient for o in session.scalars(select(Outbox).where(
            Outbox.case_id == site.cases[case], Outbox.kind == "underrattelse")))
            for case in ("norr", "unsure")}
        chef_notice = session.scalars(select(Outbox).where(
            Outbox.case_id == site.cases["gata"], Outbox.recipient == "robert.strom@ekby.example",
            Outbox.kind == "underrattelse"))
        body = email.message_from_bytes(chef_notice.one().body, policy=email.policy.default)
    assert told["norr"] == []  # Söderköping's 30 dagar: the chef's is in the digest too
    digest = morning_digest(site.app, SEKTORCHEF)
    with site.app.sessions() as session:
        numbers = {k: session.get_one(Case, site.cases[k]).diarienummer
                   for k in ("norr", "unsure")}
    assert numbers["norr"] in digest and numbers["unsure"] not in digest
    assert numbers["norr"] in morning_digest(site.app, "lars.oberg@ekby.example")
    with site.app.sessions() as session:  # Hässelby-Vällingby (002): "kontaktperson ... på kopia"
        gata = sorted(o.recipient for o in session.scalars(select(Outbox).where(
            Outbox.case_id == site.cases["gata"], Outbox.kind == "underrattelse")))
    # kännedom and till_chefen: direkt there: the chef and the kontaktperson get each case
    # as it comes
    assert gata == ["lena.holm@ekby.example", "robert.strom@ekby.example"]
    assert SEKTORCHEF not in told["unsure"]
    assert isinstance(body, email.message.EmailMessage)
    assert "som enhetschef." in body.get_content()


def test_a_moved_case_takes_the_routine_of_its_new_enhet(site: Site) -> None:  # noqa: F811
    """Moved from Gata och park (Hässelby-Vällingby's stadsmiljö: 3 and 10
    dagar) to Hemtjänst Norr (Söderköping: 30 dagar): its open stages are
    the new routine's, and the new chef reads so in the next morning's
    digest (Söderköping's routine hands a case over there)."""
    registrator = site.login(REGISTRATOR)
    case_id = site.cases["gata"]
    token = csrf_of(registrator.get(f"/cases/{case_id}").text)
    done = registrator.post(f"/cases/{case_id}/correct", data={
        "category": "klagomal", "enhet": "hemtjanst_norr", "csrf": token})
    assert done.status_code == 200
    with site.app.sessions() as session:
        case = session.get_one(Case, case_id)
        assert case.routine == "soderkoping"
        expected = deadlines_for(site.app.kommun.routines.profiler["soderkoping"],
                                 received_at_local(case.received_at), True)
        assert [(d.kind, d.due) for d in case.deadlines] == [("aterkoppling", expected[0].due)]
        moved = session.scalar(select(Event).where(Event.case_id == case_id,
                                                   Event.kind == "case.rescheduled"))
        assert moved is not None and moved.detail["previous"] == "hasselby_stadsmiljo"
        assert session.scalars(select(Outbox).where(
            Outbox.case_id == case_id, Outbox.recipient == "lars.oberg@ekby.example")).all() == []
        number = case.diarienummer
    digest = morning_digest(site.app, "lars.oberg@ekby.example")
    assert f"{number} (Hemtjänst Norr): klagomål, första frist {long_date(expected[0].due)}" \
        in digest


def test_the_report_keeps_excluded_matters_apart_and_tells_what_was_done(
        site: Site) -> None:  # noqa: F811
    """Essunga (003): the twice-yearly compilation shows "antal inkomna
    synpunkter, vilken karaktär synpunkten har, samt vilka åtgärder som är
    vidtagna"; appeals and lex Sarah matters are not synpunkter (Söderköping
    000: "Rutinen används inte när det gäller överklagan av beslut")."""
    appeal = _register(site.app, "x", "Beslut", "Jag överklagar beslutet om hemtjänst i Lövsta.",
                       Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False,
                              flags=frozenset({Flag.OVERKLAGANDE})))
    with site.app.sessions() as session:
        excluded = session.get_one(Case, appeal)
        assert excluded.routine == "soderkoping" and excluded.deadlines == []
    chef = site.login(CHEF_NORR)
    case_id = site.cases["norr"]
    measure = "Vi har infört ett extra besök varje tisdag och gått igenom rutinen med personalen."
    chef.post(f"/cases/{case_id}/note", data={
        "note": measure, "kind": "feedback", "csrf": csrf_of(chef.get(f"/cases/{case_id}").text)})
    registrator = site.login(REGISTRATOR)
    page = registrator.get("/statistik")
    assert "<strong>3</strong> ärenden" in page.text and measure in page.text
    csv_text = registrator.get("/statistik.csv").content.decode("utf-8-sig")
    assert "Utanför rutinen;överklagande;1" in csv_text
    assert "Per kategori;klagomål;2" in csv_text  # the appeal is not counted there
    assert measure in csv_text
    assert registrator.get("/statistik.pdf").content[:5] == b"%PDF-"


def test_socialnamnden_tells_the_mas_of_a_klagomal(tmp_path: Path) -> None:
    """Socialnämnden (004): "för kännedom till berörd handläggare inom
    Plusenheten, oftast Mas eller Mar"."""
    root = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, root)
    routines = root / "routines.yaml"
    routines.write_text(routines.read_text("utf-8").replace(
        "    gata_park: hasselby_stadsmiljo", "    gata_park: hasselby_stadsmiljo\n"
        "    hemtjanst_norr: socialnamnden_2005"), "utf-8")
    app = build_app(Settings(home=tmp_path / "home", config=root))
    upgrade(app.engine)
    case_id = _register(app, "m", "Hemtjänsten", "Hemtjänsten i Lövsta glömde medicinen.",
                        Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False))
    with app.sessions() as session:
        told = {o.recipient for o in session.scalars(select(Outbox).where(
            Outbox.case_id == case_id, Outbox.kind == "underrattelse"))}
    assert told == set()  # the chef's, too, is in the digest (`till_chefen`)
    with app.sessions() as session:
        number = session.get_one(Case, case_id).diarienummer
    assert number in morning_digest(app, "mas@ekby.example")
    assert number in morning_digest(app, "lars.oberg@ekby.example")
