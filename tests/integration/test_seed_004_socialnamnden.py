"""Seed 004 end to end: Socialnämnden (Nacka), follow-up of the social
services' complaint handling January–July 2005
(../shared/seeds/004_8c1a02e7ea8cbea3.txt), the routine profile
`socialnamnden_2005`. Here it is the routine of Ekby's Socialförvaltning
(routines.yaml `val.förvaltningar`; Socialpsykiatri keeps Nacka's) and of
Måltidsservice, whose matlådor the seed's report names. Each assertion names
the seed line it checks as ``004:LINE``. The register is a real PostgreSQL
database."""

from __future__ import annotations

import io
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from cases.models import Case, CaseStatus, Event
from classify.triage import Category, Triage
from config.settings import SHIPPED_CONFIG
from config.words import Words
from deadlines.calendar import add_calendar_days, receipt_day
from ingest.by_hand import EntryRefusedError
from notify.swedish import day_and_month, long_date
from review.reports import as_csv, as_pdf, as_xlsx
from review.stats import compute, half_year
from service.app import App
from service.correction import correct_case
from service.feedback import give_feedback
from tests.integration.seed_walk import (
    STOCKHOLM,
    TAKEN_BY,
    at,
    by_hand,
    case_events,
    case_of,
    diariefort,
    edit_routines,
    events,
    morning_digest,
    seed_app,
    sent,
    sure,
)
from tests.integration.test_web import _register

RECEIVED = datetime(2026, 4, 21, 15, 0, tzinfo=STOCKHOLM)  # a Tuesday before Valborg
ROUTINE = "socialnamnden_2005"
ENHET = "forsorjningsstod"
COMPLAINT = ("Min socialsekreterare på försörjningsstödet har inte svarat på tre veckor och "
             "var otrevlig när jag till slut fick tag på henne.")


@pytest.fixture
def app(tmp_path: Path, postgres_url: str) -> App:
    root = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, root)
    edit_routines(root, ("förvaltningar: {soc: soderkoping}",
                         "förvaltningar: {soc: socialnamnden_2005}"),
                  ("    gata_park: hasselby_stadsmiljo",
                   "    gata_park: hasselby_stadsmiljo\n    maltid: socialnamnden_2005"))
    return seed_app(tmp_path, postgres_url, RECEIVED, root)


def _told(app: App) -> tuple[str, str]:
    """The enhetschef of Ekonomiskt bistånd and the MAS, from organisation.yaml."""
    org = app.kommun.organisation
    enhet = org.enhet(ENHET)
    assert enhet is not None and org.kommun.mas is not None
    return enhet.chef.epost, org.kommun.mas.epost


def test_a_written_complaint_goes_to_the_chef_and_the_mas_and_is_answered(app: App) -> None:
    # 004:15 "inom 10 dagar": the routine in routines.yaml
    assert [(f.typ, f.antal, f.enhet) for f in app.kommun.routines.profiler[ROUTINE].frister
            ] == [("besked", 10, "dagar")]
    case_id = _register(app, "f", "Hjälp oss bli bättre", COMPLAINT, sure(
        Category.KLAGOMAL, aspects=frozenset({"bemotande", "handlaggning"})))
    case = case_of(app, case_id)
    # 004:13 "registreras och kategoriseras ... Därefter skickas de ut till berörd enhetschef"
    assert (case.enhet, case.routine, case.category) == (ENHET, ROUTINE, "klagomal")
    assert diariefort(app, case) and sorted(case.aspects) == ["bemotande", "handlaggning"]
    chef, mas = _told(app)
    # the chef gets it in the next morning's digest, ten days to go (`till_chefen`)
    assert sent(app, case_id, "underrattelse") == []
    assert f"{case.diarienummer} ({Words(app.kommun).enhet(ENHET)}): klagomål, första " \
        f"frist {long_date(case.deadlines[0].due)}" in morning_digest(app, chef)
    # 004:29 "för kännedom till berörd handläggare inom Plusenheten, oftast Mas eller Mar":
    # in the MAS's next morning digest, one mail for all of the day's cases
    digest = morning_digest(app, mas)
    assert case.diarienummer in digest and "för kännedom" in digest
    assert "du informeras som medicinskt ansvarig sjuksköterska" in digest
    # 004:15 "Den som klagat ska få kunskap om hur socialtjänsten kommer att behandla
    # klagomålet inom 10 dagar": 10 calendar days, moved past Valborg and the weekend
    due = add_calendar_days(receipt_day(RECEIVED), 10)
    assert [(d.kind, d.due, d.promised) for d in case.deadlines] == [("besked", due, True)]
    [(to, receipt)] = sent(app, case_id, "mottagningsbevis")
    assert to == "anna.f@example.se"
    assert f"Du får besked om hur ditt ärende kommer att hanteras senast {long_date(due)}." \
        in receipt
    # 004:13 the chef "ta kontakt med den klagande och ... vidta den åtgärd som behövs",
    # then "informerar ... PLUS om vad som gjorts": written on the case, sent to the sender
    done = "Vi har bytt handläggare och du får ett beslut i veckan."
    with app.sessions.begin() as session:
        give_feedback(at(app, datetime(2026, 4, 24, 10, 0, tzinfo=STOCKHOLM)), session,
                      case_id, done, f"user:{chef}")
    [(to, answer)] = sent(app, case_id, "aterkoppling")
    assert to == "anna.f@example.se" and done in answer
    assert case_of(app, case_id).status == CaseStatus.FEEDBACK_GIVEN
    # A synpunkt is no klagomål: the MAS is told of klagomål only
    idea = _register(app, "s", "Öppettider", "Receptionen på försörjningsstödet kunde ha "
                     "öppet på kvällen en dag i veckan.", sure(Category.SYNPUNKT))
    assert sent(app, idea, "underrattelse") == []
    [told] = case_events(app, idea, "case.told_in_digest")
    assert told.detail["roles"] == ["enhetschef"]


def test_oral_only_with_consent_and_the_besked_by_phone_or_letter(app: App) -> None:
    said = "Klienten berättade att socialsekreteraren på försörjningsstödet skrek åt henne."
    # 004:17 "skrivs ner ... men först sedan kunden/klienten givit sitt medgivande till det"
    for channel in ("telefon", "besok", "muntlig"):
        with pytest.raises(EntryRefusedError, match="samtycke"):
            by_hand(app, sure(Category.KLAGOMAL), channel, said, phone="070-123 45 67")
    call = by_hand(app, sure(Category.KLAGOMAL), "telefon", said, phone="070-123 45 67",
                   consent=True)
    case = case_of(app, call)
    assert (case.channel, case.routine) == ("telefon", ROUTINE)
    with app.sessions() as session:
        consent = session.scalars(select(Event).where(Event.case_id == call,
                                                      Event.kind == "case.consent")).one()
    assert consent.actor == TAKEN_BY
    [(to, sms)] = sent(app, call, "mottagningsbevis")
    assert to == "+46701234567" and f"senast {day_and_month(case.deadlines[0].due)}" in sms
    # 004:15 "Detta sker genom brev eller telefonsamtal": the besked given by phone is
    # recorded on the case, nothing sent
    with app.sessions.begin() as session:
        give_feedback(app, session, call, "Ringde klienten och berättade hur vi gör.",
                      "user:chef", send=False)
    assert case_of(app, call).status == CaseStatus.FEEDBACK_GIVEN
    assert sent(app, call, "aterkoppling") == []
    letter = by_hand(app, sure(Category.KLAGOMAL), "brev", said, mail="klient@example.se")
    assert [who for who, _ in sent(app, letter, "mottagningsbevis")] == ["klient@example.se"]


def test_an_anonymous_complaint_is_registered_but_promised_no_answer(app: App) -> None:
    """004:17 "Kunden/klienten kan vara anonym men kan då inte få veta vad
    synpunkten/klagomålet resulterar i"; the form handed in at the reception
    (004:21 "Blanketter ... finns i ... socialtjänstens reception")."""
    case_id = by_hand(app, sure(Category.KLAGOMAL), "brev", COMPLAINT)
    case = case_of(app, case_id)
    assert (case.enhet, case.routine) == (ENHET, ROUTINE) and diariefort(app, case)
    assert case.contact is None and sent(app, case_id, "mottagningsbevis") == []
    assert "besked" not in [d.kind for d in case.deadlines]  # no besked to anyone
    chef, mas = _told(app)
    assert sent(app, case_id, "underrattelse") == []  # 004:13: the chef's digest has it
    assert "Nya ärenden till dig" in morning_digest(app, chef)
    assert case.diarienummer in morning_digest(app, chef)
    assert case.diarienummer in morning_digest(app, mas)  # 004:29
    with app.sessions.begin() as session:
        given = give_feedback(app, session, case_id, "Vi har gått igenom bemötandet.",
                              "user:chef")
    assert given.outbox_id is None and sent(app, case_id, "aterkoppling") == []


def test_a_case_the_registrator_categorises_reaches_the_chef_and_the_mas(app: App) -> None:
    """004:13 "registreras och kategoriseras av tjänsteman på ... PLUS. Därefter
    skickas de ut till berörd enhetschef"; 004:29 "för kännedom ... Mas"."""
    unsure = Triage(category=None, needs_review=True, review_reasons=("osäker kategori",))
    case_id = _register(app, "u", "Bemötande", "Jag blev illa bemött när jag ringde er.",
                        unsure)
    with app.sessions.begin() as session:
        correct_case(app, session, session.get_one(Case, case_id), "klagomal", ENHET, [],
                     TAKEN_BY, "registratorn")
    case = case_of(app, case_id)
    assert (case.enhet, case.routine, case.category) == (ENHET, ROUTINE, "klagomal")
    assert "case.corrected" in events(app, case_id)
    chef, mas = _told(app)
    assert sent(app, case_id, "underrattelse") == []  # sorted by hand, told as intake tells
    [told] = case_events(app, case_id, "case.told_in_digest")
    assert told.detail["roles"] == ["enhetschef", "mas"]
    assert case.diarienummer in morning_digest(app, chef)
    assert case.diarienummer in morning_digest(app, mas)


def test_the_half_year_result_by_kind(app: App) -> None:
    """004:27-31 "Under första halvåret 2005 har sammanlagt 15 klagomål
    registrerats. 6 av dem avser produktionen, den privata och kommunens egen
    ... bemötts ... brister i handläggningen ... priset på matlådor ... en nöjd
    klient": counted by kind and aspect for the half-year."""
    _register(app, "a", "Bemötande", COMPLAINT, sure(
        Category.KLAGOMAL, aspects=frozenset({"bemotande", "handlaggning"})))
    private = _register(app, "p", "Ekhagen", "På Ekhagens äldreboende fick pappa vänta i en "
                        "timme på hjälp till toaletten.", sure(Category.KLAGOMAL,
                                                              aspects=frozenset({"bemotande"})))
    _register(app, "m", "Matlådor", "Priset på matlådorna har höjts så mycket att mamma "
              "inte har råd längre.", sure(Category.SYNPUNKT, aspects=frozenset({"avgift"})))
    _register(app, "n", "Tack", "Allt fungerar alldeles utmärkt med min socialsekreterare på "
              "försörjningsstödet.", sure(Category.BEROM))
    _register(at(app, datetime(2026, 7, 2, 10, 0, tzinfo=STOCKHOLM)), "h2", "Senare",
              COMPLAINT, sure(Category.KLAGOMAL))
    # 004:29 the private production: the kommun's chef sends it on, the MAS is told
    ekhagen = app.kommun.organisation.enhet("ekhagen")
    assert ekhagen is not None and ekhagen.utforare is not None
    assert case_of(app, private).routine == ROUTINE
    told = dict(sent(app, private, "underrattelse"))
    assert ekhagen.utforare.epost in told[ekhagen.chef.epost]
    assert case_of(app, private).diarienummer in morning_digest(app, _told(app)[1])
    with app.sessions() as session:
        stats = compute(session, app.kommun, half_year(2026, 1), RECEIVED.date())
        later = compute(session, app.kommun, half_year(2026, 2), RECEIVED.date())
    assert (stats.total, later.total) == (4, 1)
    assert dict(stats.by_category) == {"klagomål": 2, "synpunkt": 1, "beröm": 1}
    assert dict(stats.by_aspect) == {"bemötande": 2, "handläggning": 1, "avgift": 1}
    csv_text = as_csv(stats)
    assert "2026 H1;Per aspekt;bemötande;2" in csv_text
    book = load_workbook(io.BytesIO(as_xlsx(stats)))
    assert ("avgift", 1) in book["Per aspekt"].iter_rows(values_only=True)
    assert as_pdf(stats, app.kommun.organisation.kommun.namn, RECEIVED).startswith(b"%PDF-")
