"""Söderköping's routine (shared/seeds/000_ff34fd15a10e1f83.txt) walked end
to end: Ekby's Socialförvaltningen uses it (routines.yaml, `soderkoping`).
Each check names the seed line it holds Synpunkt to, as "000:43"."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cases.models import Case, Inbound
from classify.triage import Category, Flag, Triage
from deadlines.calendar import STOCKHOLM
from deadlines.routine import deadlines_for
from ingest.by_hand import EntryRefusedError, entry
from notify.swedish import long_date
from review.reports import as_pdf, as_xlsx
from review.stats import compute, parse_period
from service.by_hand import register_by_hand
from service.feedback import give_feedback
from tests.integration.seed_walk import (
    case_events,
    case_of,
    events,
    mail_in,
    morning_digest,
    outbox,
    recipients,
    text_of,
)
from tests.integration.test_sms import ANNA, World, elks  # noqa: F401
from tests.integration.test_web import Site, site  # noqa: F401
from tests.support import FixedClassifier
from workers.embedded import run_once

CHEF, SEKTORCHEF = "lars.oberg@ekby.example", "maria.berg@ekby.example"  # Hemtjänst Norr
EKHAGEN_CHEF = "tomas.wik@ekby.example"  # Ekhagen is run by Omsorgia AB
STAFF = "lena.ek@ekby.example"
COMPLAINT = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)
PRAISE = Triage(category=Category.BEROM, confidence=0.95, needs_review=False)
TEXT = "Hemtjänsten i Lövsta kom inte till min pappa i går kväll, tredje gången i månaden."


def test_a_complaint_by_mail_from_receipt_to_the_next_chef_up(site: Site) -> None:  # noqa: F811
    app = site.app
    outcome = mail_in(app, "m1", "karin.holm@example.se", "Hemtjänsten", TEXT, COMPLAINT,
                      name="Karin Holm")
    case = case_of(app, outcome.case_id)
    assert (case.routine, case.enhet) == ("soderkoping", "hemtjanst_norr")
    # 000:42 "till registratorn för diarieföring": a diarienummer
    assert case.diarieford and case.diarienummer.startswith("EKBY ")
    # 000:43 "till berörd chef för handläggning ... Sektorchef informeras.": with 30
    # dagar to go the case waits for the next morning's digest (`till_chefen`), where the
    # chef gets it to handle and the sektorchef reads of it
    assert recipients(app, case.id, "underrattelse") == set()
    [told] = case_events(app, case.id, "case.told_in_digest")
    assert told.detail["roles"] == ["enhetschef", "sektorchef"]
    digest = morning_digest(app, SEKTORCHEF)
    assert "för kännedom" in digest
    assert f"{case.diarienummer} (Hemtjänst Norr): klagomål, du informeras som sektorchef" \
        in digest
    handed = morning_digest(app, CHEF)
    first = long_date(case.deadlines[0].due)
    assert "Nya ärenden till dig att handlägga:" in handed
    assert f"{case.diarienummer} (Hemtjänst Norr): klagomål, första frist {first}" in handed
    assert "för kännedom" not in handed
    assert "case.listed_in_digest" in events(app, case.id)
    assert morning_digest(app, SEKTORCHEF) == digest, "listed once, not again the next day"
    assert morning_digest(app, CHEF) == handed
    # 000:44 "Mottagningsbevis skickas till den som inkommit"; 000:50 "återkoppling inom
    # 30 dagar förutsatt att personen lämnat ... e-postadress"
    [receipt] = outbox(app, case.id, "mottagningsbevis")
    due = deadlines_for(app.kommun.routines.profiler["soderkoping"], case.received_at, True)
    assert [d.kind for d in due] == ["aterkoppling"]
    assert receipt.recipient == "karin.holm@example.se"
    assert f"senast {long_date(due[0].due)}" in text_of(receipt)
    assert [(d.kind, d.due) for d in case.deadlines] == [("aterkoppling", due[0].due)]
    # 000:50 "Chefen återkopplar till kunden via registrator": written in Synpunkt, sent
    # from the funktionsbrevlåda, kept with the case
    words = "Vi har gått igenom kvällsschemat och lagt in en extra personal på kvällarna."
    with app.sessions.begin() as session:
        given = give_feedback(app, session, case.id, words, f"user:{CHEF}")
    [sent] = outbox(app, case.id, "aterkoppling")
    assert given.outbox_id == sent.id and words in text_of(sent)
    assert case_of(app, case.id).status == "feedback_given"
    # 000:69 "inte nöjd ... behjälplig i kontakt med närmast överordnad chef"
    mail_in(app, "m2", "karin.holm@example.se", f"Re: Återkoppling [{case.diarienummer}]",
            "Jag är inte nöjd med svaret, det har hänt igen.")
    [unhappy] = case_events(app, case.id, "case.dissatisfied")
    assert unhappy.detail["told"] == SEKTORCHEF
    # 000:55 "sammanställer och analyserar en gång per år": the report has the åtgärd
    year = case.received_at.astimezone(STOCKHOLM).year
    with app.sessions() as session:
        stats = compute(session, app.kommun, parse_period(str(year), date(year, 12, 31)),
                        date(year, 12, 31))
    assert stats.total >= 1 and (case.diarienummer, "Hemtjänst Norr", words) in stats.measures


def test_every_way_in_the_routine_names(site: Site) -> None:  # noqa: F811
    """000:31-37: in person, by mail or SMS, by letter, by the e-blankett."""
    app = site.app
    now = app.clock()
    # 000:35 a letter, written in by the registrator: its receipt goes to the address given
    with app.sessions.begin() as session:
        letter = register_by_hand(app, session, entry(
            "brev", "Maten på Solgården är ofta kall när den kommer fram.", "user:eva", now,
            email="olle@example.se"))
    assert recipients(app, letter.case_id, "mottagningsbevis") == {"olle@example.se"}
    # 000:41 "dokumenteras ... av mottagaren efter godkännande från den enskilde"
    with pytest.raises(EntryRefusedError, match="samtycke"):
        entry("telefon", TEXT, "user:eva", now, phone="070-123 45 67")
    with app.sessions.begin() as session:
        call = register_by_hand(app, session, entry(
            "telefon", TEXT, "user:eva", now, phone="070-123 45 67", consent=True))
    assert events(app, call.case_id).count("case.consent") == 1
    [sms] = outbox(app, call.case_id, "mottagningsbevis")
    assert (sms.channel, sms.recipient) == ("sms", "+46701234567")
    # 000:37 the e-blankett: the citizen in the form gets the receipt, not the form's sender
    form = mail_in(app, "f1", "noreply@etjanst.ekby.example", "Synpunkt från e-tjänsten",
                   f"Namn: Per Sten\nE-post: per.sten@example.se\nMeddelande: {TEXT}", COMPLAINT)
    assert recipients(app, form.case_id, "mottagningsbevis") == {"per.sten@example.se"}


def test_a_complaint_by_sms(elks: World) -> None:  # noqa: F811
    """000:33 "via mail eller sms": the SMS receipt names the återkoppling's date."""
    elks.gateway.incoming("070-123 45 67", TEXT)
    elks.gateway.wait_for_webhooks(timeout=10)
    time.sleep(0.6)  # the join window: the sender may still be typing
    run_once(replace(elks.app, classifier=FixedClassifier(COMPLAINT)))
    [case] = elks.cases()
    assert (case.channel, case.routine, case.enhet) == ("sms", "soderkoping", "hemtjanst_norr")
    [receipt] = elks.receipts_to(ANNA)
    [due] = [d.due for d in case_of(elks.app, case.id).deadlines]
    assert case.diarienummer in receipt and f"senast {due.day} " in receipt


def test_a_member_of_staff_writes_an_oral_complaint_down(site: Site) -> None:  # noqa: F811
    """000:41-42: staff write down what a person said, after consent, and send it to
    the registrator: the case is the person's, the receipt theirs."""
    app = site.app
    note = ("Sven Holm ringde i dag och är missnöjd med att hemtjänsten i Lövsta kommer "
            "olika tider varje dag. Han har gett sitt samtycke till att jag skriver ned det.\n"
            "E-post: sven.holm@example.se")
    done = mail_in(app, "s1", STAFF, "Muntligt klagomål", note, COMPLAINT, name="Lena Ek")
    case = case_of(app, done.case_id)
    assert case.channel == "telefon" and case.contact is not None
    assert case.contact.email == "sven.holm@example.se"
    assert recipients(app, case.id, "mottagningsbevis") == {"sven.holm@example.se"}
    told = [o for o in outbox(app, case.id, "underrattelse") if o.recipient == STAFF]
    assert len(told) == 1 and case.diarienummer in text_of(told[0])
    assert "case.consent" in events(app, case.id)
    # Without consent it is not registered: it waits, and the member of staff is told why.
    waiting = mail_in(app, "s2", STAFF, "Muntligt klagomål",
                      "En brukare framförde muntligt att maten är kall. Jag hann inte fråga om "
                      "samtycke.", COMPLAINT)
    assert waiting.case_id is None and waiting.status == "quarantined"
    with app.sessions() as session:
        row = session.scalar(select(Inbound).where(Inbound.id == waiting.inbound_id))
        assert row is not None and row.reason is not None and "samtycke" in row.reason
    assert [o for o in outbox(app, None, "underrattelse") if o.recipient == STAFF]


def test_outside_the_routine_and_the_private_utforare(site: Site) -> None:  # noqa: F811
    app = site.app
    # 000:49 "riktade till privata utförare till ansvarig chef ... sektorchef informeras"
    ekhagen = case_of(app, mail_in(app, "e1", "anna.b@example.se", "Ekhagen",
                                   "Min mamma på Ekhagens äldreboende får aldrig komma ut.",
                                   COMPLAINT).case_id)
    assert ekhagen.enhet == "ekhagen"
    assert recipients(app, ekhagen.id, "underrattelse") == {EKHAGEN_CHEF}
    assert ekhagen.diarienummer in morning_digest(app, SEKTORCHEF)
    chef_text = next(text_of(o) for o in outbox(app, ekhagen.id, "underrattelse")
                     if o.recipient == EKHAGEN_CHEF)
    assert "Omsorgia AB" in chef_text and "kvalitet@omsorgia.example" in chef_text
    # 000:61 "Rutinen används inte när det gäller överklagan av beslut": informed how, helped
    appeal = mail_in(app, "o1", "bo@example.se", "Beslut om hemtjänst",
                     "Jag vill överklaga beslutet om hemtjänst.",
                     Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False,
                            flags=frozenset({Flag.OVERKLAGANDE})))
    appeal_case = case_of(app, appeal.case_id)
    assert appeal_case.deadlines == []
    [appeal_receipt] = outbox(app, appeal_case.id, "mottagningsbevis")
    assert "överklaga" in text_of(appeal_receipt) and "senast" not in text_of(appeal_receipt)
    # beröm: thanked, no complaint's promise
    praise = mail_in(app, "b1", "ulla@example.se", "Tack", "Tack till hemtjänsten i Lövsta!",
                     PRAISE)
    [thanks] = outbox(app, praise.case_id, "mottagningsbevis")
    assert "klagomål" not in text_of(thanks).lower() and "senast" not in text_of(thanks)
    # 000:54 "Sammanställningen skickas en gång per år till registratorn för diarieföring"
    yearly = mail_in(app, "y1", "kvalitet@omsorgia.example",
                     "Sammanställning av synpunkter och klagomål 2026, Ekhagen",
                     "Här kommer årets sammanställning av inkomna synpunkter och klagomål och "
                     "de åtgärder vi har vidtagit. Tre klagomål gällde maten, ett bemötandet.",
                     COMPLAINT)
    compilation = case_of(app, yearly.case_id)
    assert compilation.diarieford and compilation.enhet == "ekhagen"
    assert "sammanstallning" in compilation.flags and compilation.category is None
    assert compilation.deadlines == [] and not compilation.needs_review
    [kvitto] = outbox(app, compilation.id, "mottagningsbevis")
    assert kvitto.recipient == "kvalitet@omsorgia.example"
    assert "sammanställning" in text_of(kvitto) and "senast" not in text_of(kvitto)
    assert recipients(app, compilation.id, "underrattelse") == {EKHAGEN_CHEF}
    # ... counted apart, never as a complaint: listed in the yearly compilation
    year = compilation.received_at.astimezone(STOCKHOLM).year
    with app.sessions() as session:
        stats = compute(session, app.kommun, parse_period(str(year), date(year, 12, 31)),
                        date(year, 12, 31))
    row = f"Ekhagens äldreboende (Omsorgia AB), {compilation.diarienummer}"
    assert stats.compilations == [(row, 1)]
    assert ("sammanställning från utförare", 1) in stats.excluded
    assert ("överklagande", 1) in stats.excluded
    with app.sessions() as session:
        registered = session.scalar(select(func.count()).select_from(Case))
    assert stats.total == registered - 2  # the appeal and the compilation
    book = load_workbook(io.BytesIO(as_xlsx(stats)))
    assert [r for r in book["Sammanställningar från utförare"].values][1:] == [(row, 1)]
    pdf = as_pdf(stats, "Ekby kommun", app.clock())
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
