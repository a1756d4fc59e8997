"""Hässelby-Vällingby's routine (shared/seeds/002_39f8908e7ba2ae86.txt) walked
end to end. Ekby's Gata och park uses its stadsmiljö profile as shipped; for
the social care part this test gives Ekhagens äldreboende (a private
utförare's) the `hasselby_vallingby` profile and the Äldreomsorg sektor a
kontaktperson, in a copy of the configuration. Each check names the seed
line it holds Synpunkt to, as "002:199"."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from cases.migrate import upgrade
from classify.triage import Category, Flag, Triage
from config.settings import SHIPPED_CONFIG, Settings
from deadlines.calendar import STOCKHOLM, is_working_day
from deadlines.routine import deadlines_for
from ingest.by_hand import entry
from notify.swedish import long_date
from review.stats import compute, parse_period
from service.app import App, build_app
from service.by_hand import register_by_hand
from service.feedback import give_feedback
from service.reminders import send_delay_notices
from tests.integration.seed_walk import case_of, mail_in, outbox, recipients, text_of
from tests.support import FixedClassifier

EKHAGEN_CHEF, GATA_CHEF = "tomas.wik@ekby.example", "robert.strom@ekby.example"
KONTAKT_ALDRE = "kvalitet.aldre@ekby.example"  # added to the copy below
STAFF = "lena.ek@ekby.example"
KONTAKT_SBF = "lena.holm@ekby.example"  # Samhällsbyggnadsförvaltningen's, as shipped
COMPLAINT = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)
VIEW = Triage(category=Category.SYNPUNKT, confidence=0.95, needs_review=False)
EKHAGEN = "Personalen på Ekhagens äldreboende är stressad och min mor får vänta länge på hjälp."


@pytest.fixture
def app(tmp_path: Path) -> App:
    config = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, config)
    routines = config / "routines.yaml"
    routines.write_text(routines.read_text("utf-8").replace(
        "    gata_park: hasselby_stadsmiljo\n",
        "    gata_park: hasselby_stadsmiljo\n    ekhagen: hasselby_vallingby\n"), "utf-8")
    org = config / "organisation.yaml"
    org.write_text(org.read_text("utf-8").replace(
        "        chef: {titel: sektorchef, namn: Maria Berg, epost: maria.berg@ekby.example}\n",
        "        chef: {titel: sektorchef, namn: Maria Berg, epost: maria.berg@ekby.example}\n"
        f"        kontaktperson: {{namn: Kim Kvalitet, epost: {KONTAKT_ALDRE}}}\n", 1), "utf-8")
    built = build_app(Settings(home=tmp_path / "home", config=config))
    upgrade(built.engine)
    return built


def test_a_complaint_with_contact_details_about_a_private_utforare(app: App) -> None:
    case = case_of(app, mail_in(app, "h1", "karin.holm@example.se", "Ekhagen", EKHAGEN,
                                COMPLAINT, name="Karin Holm").case_id)
    assert (case.enhet, case.routine) == ("ekhagen", "hasselby_vallingby")
    # 002:74 "diarieföra synpunkter/klagomål som har kontaktuppgifter"
    assert case.diarieford and case.diarienummer.startswith("EKBY ")
    # 002:73 "sätta kontaktperson från respektive avdelning på kopia"
    assert recipients(app, case.id, "underrattelse") == {EKHAGEN_CHEF, KONTAKT_ALDRE}
    # 002:136 the utförare gets it "med ett datum för senast återkoppling"
    chef = next(text_of(o) for o in outbox(app, case.id, "underrattelse")
                if o.recipient == EKHAGEN_CHEF)
    assert "Omsorgia AB" in chef and "be om återkoppling till dig senast" in chef
    # 002:72 the registrator acknowledges; 002:207 "information om att synpunkten/
    # klagomålet är vidarebefordrat till utföraren"; 002:193 "återkoppling inom 14 dagar"
    [receipt] = outbox(app, case.id, "mottagningsbevis")
    [due] = deadlines_for(app.kommun.routines.profiler["hasselby_vallingby"], case.received_at,
                          True)
    words = text_of(receipt)
    assert "vidare till Omsorgia AB för utredning" in words
    assert f"besked om vad vi har kommit fram till senast {long_date(due.due)}" in words
    # 002:193 "Om utredningen tar mer än 14 dagar ska en återkoppling göras ... om att
    # utredningen är försenad och anledningen till det"
    morning = datetime.combine(due.due + timedelta(days=3), time(8, 30), STOCKHOLM)
    while not is_working_day(morning.date()):
        morning += timedelta(days=1)
    send_delay_notices(app, morning.astimezone(UTC))
    [late] = outbox(app, case.id, "forseningsbesked")
    assert late.recipient == "karin.holm@example.se" and case.diarienummer in text_of(late)
    send_delay_notices(app, (morning + timedelta(days=7)).astimezone(UTC))
    assert len(outbox(app, case.id, "forseningsbesked")) == 1  # once


def test_anonymous_is_only_forwarded_not_diariefort(app: App) -> None:
    """002:199 "utan kontaktinformation, anonyma, ska endast vidarebefordras till den
    verksamhet som synpunkten/klagomålet rör för vidare sammanställning"; 002:175
    anonymous "kan ... inte förvänta sig en återkoppling"."""
    with app.sessions.begin() as session:  # 002:175 "via post": a letter, unsigned
        letter = register_by_hand(replace(app, classifier=FixedClassifier(COMPLAINT)), session,
                                  entry("brev", EKHAGEN, "user:eva", app.clock(), anonymous=True))
    form = mail_in(app, "f1", "noreply@etjanst.ekby.example", "Synpunkt från e-tjänsten",
                   f"Meddelande: {EKHAGEN}", COMPLAINT)  # the e-tjänst, no contact given
    # 002:203 "Tjänsteanteckningen lämnas till registrator för diarieföring om
    # kontaktuppgifter har lämnats för återkoppling": here none were
    noted = mail_in(app, "t1", STAFF, "Tjänsteanteckning",
                    f"En anhörig ringde och berättade: {EKHAGEN} Hon gav sitt samtycke till att "
                    "jag skriver ned det men ville inte lämna namn.", COMPLAINT)
    for outcome in (letter, form, noted):
        case = case_of(app, outcome.case_id)
        assert case.enhet == "ekhagen" and not case.diarieford
        assert case.diarienummer == f"Ej diarieförd {case.id}"
        assert case.deadlines == [] and outbox(app, case.id, "mottagningsbevis") == []
        told = {o.recipient: text_of(o) for o in outbox(app, case.id, "underrattelse")}
        if outcome is noted:  # the member of staff hears where it went
            assert "diarieförs det inte" in told.pop(STAFF)
        assert set(told) == {EKHAGEN_CHEF, KONTAKT_ALDRE}
        assert told[EKHAGEN_CHEF].startswith("Anonymt ärende till Ekhagens äldreboende")
        assert "diarieförs ärendet inte" in told[EKHAGEN_CHEF]
    # the series has no gap: the next case with contact details takes the next number
    named = case_of(app, mail_in(app, "h2", "bo@example.se", "Ekhagen", EKHAGEN,
                                 COMPLAINT).case_id)
    assert named.diarienummer.endswith("/0001")
    # "för vidare sammanställning": counted in the enhet's figures
    year = named.received_at.astimezone(STOCKHOLM).year
    with app.sessions() as session:
        stats = compute(session, app.kommun, parse_period(str(year), date(year, 12, 31)),
                        date(year, 12, 31))
    assert dict(stats.by_enhet)["Ekhagens äldreboende (Omsorgia AB)"] == 4


def test_stadsmiljo_three_days_and_ten_for_the_complex(app: App) -> None:
    """002:230 "Inom tre dagar ... återkoppling. För mer komplicerade ... upp till 10
    dagar"; 002:76 matters outside the förvaltning sent on and the sender told."""
    park = case_of(app, mail_in(app, "p1", "ali@example.se", "Parken",
                                "Parkbänkarna i Ekparken är trasiga och gräset har inte klippts.",
                                VIEW).case_id)
    assert (park.enhet, park.routine) == ("gata_park", "hasselby_stadsmiljo")
    assert recipients(app, park.id, "underrattelse") == {GATA_CHEF, KONTAKT_SBF}
    [receipt] = outbox(app, park.id, "mottagningsbevis")
    first, final = deadlines_for(app.kommun.routines.profiler["hasselby_stadsmiljo"],
                                 park.received_at, True)
    words = text_of(receipt)
    assert f"återkoppling senast {long_date(first.due)}" in words
    assert (f"ett slutligt besked, om frågan är omfattande och kräver mer tid, senast "
            f"{long_date(final.due)}") in words
    # the first stage given, the final stays open (issue 23: each stage on its own)
    with app.sessions.begin() as session:
        give_feedback(app, session, park.id, "Vi har beställt tömning i morgon.", "user:robert",
                      stage="aterkoppling")
    open_now = {d.kind for d in case_of(app, park.id).deadlines if d.met_at is None}
    assert open_now == {"slutlig_aterkoppling"}
    # 002:76 another authority's matter: where to turn, and nothing running here
    bus = case_of(app, mail_in(app, "b1", "ali@example.se", "Försäkringskassan",
                               "Försäkringskassan har inte betalat ut min sjukpenning.",
                               replace(COMPLAINT, flags=frozenset({Flag.EXTERN}),
                                       extern="forsakringskassan")).case_id)
    assert bus.extern and bus.deadlines == []
    [lotsad] = outbox(app, bus.id, "mottagningsbevis")
    assert "Försäkringskassan" in text_of(lotsad) and "senast" not in text_of(lotsad)
    month_later = datetime.combine(final.due + timedelta(days=30), time(9), STOCKHOLM)
    while not is_working_day(month_later.date()):
        month_later += timedelta(days=1)
    send_delay_notices(app, month_later.astimezone(UTC))  # no delay notice for a lotsad case
    assert outbox(app, bus.id, "forseningsbesked") == []
