"""Issue 24: what a person reads says words, never the configuration's ids.

Realistic cases with every category, flag and channel go through the real
pipeline (mail, SMS, registration by hand, a member of staff's note, an
e-tjänst); then återkoppling, a handläggare with a bekräftelse, a reply from
an unhappy sender, the morning digests and the delay notices. Every mail and
SMS the program sent a person, and the statistics as CSV, XLSX and PDF (its
text read back with pypdf), must hold no id from the shipped config/ekby:
enhet, förvaltning and sektor ids, external authorities, routing rules,
routines, deadline kinds, flags, categories, channels and aspects. An id that
is also an ordinary word (``synpunkt``, ``sms``, ``brev``, ``telefon``: the
same as its name, or a word of another name; ``registrator``, a title) cannot
be told from the word and is not looked for. Ids in addresses and links are
not text a person reads.
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from cases.lifecycle import record_delay_reason
from cases.migrate import upgrade
from cases.models import Case, Outbox
from cases.sms import store_sms
from classify.triage import Category, Flag, Triage
from config.kommun import Kommun
from config.settings import SHIPPED_CONFIG, Settings
from config.words import ASPECT, CATEGORY, CHANNEL, FLAG
from ingest.sms.record import SmsRecord
from review.reports import as_csv, as_pdf, as_xlsx
from review.stats import compute, half_year
from routing.load import load_kommun_rules
from service.app import App, build_app
from service.assign import assign
from service.feedback import give_feedback
from service.pipeline import process_inbound
from service.reminders import send_delay_notices, send_digests
from tests.integration.seed_walk import (
    STOCKHOLM,
    at,
    by_hand,
    case_of,
    edit_routines,
    mail_in,
    sure,
    text_of,
)
from tests.support import FixedClassifier

RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=STOCKHOLM)  # a Monday
MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=STOCKHOLM)  # deadlines near and past
MADE = datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
# Ids that are ordinary Swedish words a mail may well use for what they mean.
ORDINARY = {"utredning", "besked", "myndighet", "avfall", "bibliotek", "registrator"}
# Where an id may stand: an address, a link, a domain (polisen.se), and the
# words of the message or of a rule's pattern that an explanation quotes
# (”ekhagen” i texten matchar ”Ekhag*”).
NOT_TEXT = re.compile(r"\S+@\S+|https?://\S+|\b[\w.-]+\.(?:se|example|nu|com)\b|”[^”]*”")


def configured_ids(kommun: Kommun) -> dict[str, str]:
    """Every id of the shipped configuration a person must not read, with
    what it is; less those that are ordinary words."""
    org = kommun.organisation
    ids: dict[str, str] = {}
    names: list[str] = []
    for forv, sektor, enhet in org.enheter():
        ids |= {forv.id: "förvaltning", enhet.id: "enhet"}
        names += [forv.namn, enhet.namn]
        if sektor is not None:
            ids[sektor.id] = "sektor"
            names.append(sektor.namn)
    for x in org.externa_instanser:
        ids[x.id] = "extern"
        names.append(x.namn)
    for rid, routine in kommun.routines.profiler.items():
        ids[rid] = "rutin"
        names.append(routine.namn)
        for frist in routine.frister:
            ids[frist.typ] = "fristens typ"
            names.append(frist.beskrivning)
    ids |= {r.id: "regel" for r in load_kommun_rules(kommun).rules}
    for table, what in ((FLAG, "flagga"), (CATEGORY, "kategori"), (CHANNEL, "kanal"),
                        (ASPECT, "aspekt")):
        ids |= dict.fromkeys(table, what)
        names += table.values()
    ids["allvarlig_bedomning"] = "fristens typ"
    words = {w for name in names for w in re.findall(r"[\w-]+", name)}
    return {i: what for i, what in ids.items() if i not in words and i not in ORDINARY}


def ids_in(text: str, ids: dict[str, str]) -> list[str]:
    readable = NOT_TEXT.sub(" ", text)
    return sorted(f"{i} ({what})" for i, what in ids.items()
                  if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", readable))


@pytest.fixture
def app(tmp_path: Path) -> App:
    """The shipped configuration, but the library on Essunga's routine, whose
    bekräftelse names the handläggare."""
    root = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, root)
    edit_routines(root, ("    gata_park: hasselby_stadsmiljo\n",
                         "    gata_park: hasselby_stadsmiljo\n    bibliotek: essunga\n"))
    built = build_app(Settings(home=tmp_path / "home", config=root, sms_join_seconds=0))
    upgrade(built.engine)
    return at(built, RECEIVED)


def _sms(app: App, key: str, phone: str, text: str, triage: Triage) -> int:
    record = SmsRecord("46elks", key, phone, "+46700000100", text, RECEIVED)
    with app.sessions.begin() as session:
        inbound = store_sms(session, record, RECEIVED).inbound_id
    case_id = process_inbound(replace(app, classifier=FixedClassifier(triage)), inbound).case_id
    assert case_id is not None
    return case_id


def _register_everything(app: App) -> dict[str, int]:
    k, s, b = Category.KLAGOMAL, Category.SYNPUNKT, Category.BEROM
    mails = [
        ("m1", "Hemtjänsten", "Hemtjänsten i Lövsta kommer aldrig på utsatt tid och "
         "personalen var otrevlig mot min pappa.",
         sure(k, aspects=frozenset({"bemotande", "tillganglighet"}))),
        ("m2", "Öppettider", "Biblioteket i Ekby centrum borde ha öppet på söndagar.",
         sure(s, aspects=frozenset({"information"}))),
        ("m3", "Tack", "Tack till Ekbyskolan för en fin skolavslutning!", sure(b)),
        ("m4", "Beslut", "Jag vill överklaga beslutet om avslag på hemtjänst för min pappa.",
         sure(k, frozenset({Flag.OVERKLAGANDE}), frozenset({"handlaggning"}))),
        ("m5", "Gatlampa", "Gatlampan utanför Storgatan 5 har varit trasig i en vecka.",
         sure(k, frozenset({Flag.FELANMALAN}))),
        ("m6", "Solgården", "Min mamma på Solgården låg på golvet i flera timmar innan "
         "någon kom.", sure(k, frozenset({Flag.ALLVARLIG_HANDELSE}), frozenset({"trygghet"}))),
        ("m7", "Sjukpenning", "Min sjukpenning från Försäkringskassan har inte kommit.",
         replace(sure(k, frozenset({Flag.EXTERN})), extern="forsakringskassan")),
        ("m8", "Förslag", "Jag föreslår att kommunen bygger en hundrastgård i Kvarnbacken.",
         sure(s, frozenset({Flag.MEDBORGARFORSLAG}))),
        ("m9", "Min son", "Min son i årskurs 8 på Kvarnbackens skola har en diagnos och får "
         "inte det stöd han behöver.", sure(k, frozenset({Flag.SEKRETESS}))),
        ("m10", "Ekhagen", "Personalen på Ekhagens äldreboende skriver upp timmar som aldrig "
         "blev utförda.", sure(k, frozenset({Flag.VALFARDSBROTT}), frozenset({"avgift"}))),
        ("m11", "Fråga", "Hej, jag vet inte vart jag ska vända mig med det här.",
         Triage(category=None, confidence=0.4, needs_review=True,
                review_reasons=("osäker kategori (40 %)",))),
        ("m12", "Boendestöd", "Boendestödet har inte kommit på två veckor.",
         sure(k, aspects=frozenset({"kvalitet"}))),
    ]
    cases = {}
    for key, subject, text, triage in mails:
        cases[key] = _case(mail_in(app, key, f"anna.{key}@example.se", subject, text, triage,
                                   name="Anna Berg").case_id)
    cases["yearly"] = _case(mail_in(
        app, "y1", "kvalitet@omsorgia.example",
        "Sammanställning av synpunkter och klagomål 2026, Ekhagen",
        "Här kommer årets sammanställning av inkomna synpunkter och klagomål och de åtgärder "
        "vi har vidtagit.", sure(k)).case_id)
    cases["form"] = _case(mail_in(
        app, "f1", "noreply@etjanst.ekby.example", "Synpunkt från e-tjänsten",
        "Namn: Per Sten\nE-post: per.sten@example.se\nMeddelande: Snöröjningen på Ekvägen "
        "är dålig.", sure(k)).case_id)
    cases["staff"] = _case(mail_in(
        app, "s1", "lena.ek@ekby.example", "Muntligt klagomål",
        "Sven Holm ringde i dag och är missnöjd med att hemtjänsten i Lövsta kommer olika "
        "tider varje dag. Han har gett sitt samtycke till att jag skriver ned det.\n"
        "E-post: sven.holm@example.se", sure(k), name="Lena Ek").case_id)
    cases["sms"] = _sms(app, "t1", "070-123 45 67", "Hemtjänsten i Söderby kom inte i går.",
                        sure(k))
    cases["sms_late"] = _sms(app, "t2", "070-765 43 21", "Boendestödet hör aldrig av sig.",
                             sure(k))
    cases["letter"] = by_hand(app, sure(k), "brev", "Maten på Solgården är ofta kall.",
                              mail="olle@example.se")
    cases["call"] = by_hand(app, sure(s), "telefon", "Biblioteket borde ha fler ljudböcker.",
                            phone="070-111 22 33", consent=True)
    cases["visit"] = by_hand(app, sure(k), "besok", "Lekplatsen i parken vid Sjöviken är "
                             "trasig.", consent=True)
    cases["oral"] = by_hand(app, sure(b), "muntlig", "Tack till hemtjänsten i Norrby.",
                            mail="greta@example.se", consent=True)
    return cases


def _case(case_id: int | None) -> int:
    assert case_id is not None
    return case_id


def _act(app: App, cases: dict[str, int]) -> None:
    """What the chefs do, and what a sender answers."""
    with app.sessions.begin() as session:
        give_feedback(app, session, cases["m1"], "Vi har talat med personalen om tiderna och "
                      "om bemötandet.", "user:lars.oberg@ekby.example")
        give_feedback(app, session, cases["sms"], "Vi har ändrat schemat så att det inte "
                      "händer igen.", "user:fatima.hassan@ekby.example")
        for key in ("m2", "call", "m1"):
            case = session.get_one(Case, cases[key])
            org = app.kommun.organisation
            enhet = org.enhet(case.enhet)
            assert enhet is not None
            assign(app, session, case, enhet.chef.epost, "user:registrator@ekby.example")
        record_delay_reason(session, cases["m12"], "Vi väntar på ett svar från boendet.",
                            "user:mikael.forsberg@ekby.example", RECEIVED)
    number = case_of(app, cases["m1"]).diarienummer
    mail_in(app, "r1", "anna.m1@example.se", f"Sv: Återkoppling på ditt ärende [{number}]",
            "Jag är inte nöjd med svaret.", sure(Category.KLAGOMAL), name="Anna Berg")
    assert send_digests(app, MORNING)
    assert send_delay_notices(app, MORNING)


def _covers_every_category_flag_and_channel(app: App) -> None:
    with app.sessions() as session:
        cases = list(session.scalars(select(Case)))
    assert {c.category for c in cases} >= set(CATEGORY)
    assert {f for c in cases for f in c.flags} >= set(FLAG)
    assert {c.channel for c in cases} >= set(CHANNEL)


def test_no_configuration_id_in_any_mail_sms_or_report(app: App) -> None:
    ids = configured_ids(app.kommun)
    assert {"klagomal", "hemtjanst_norr", "forsakringskassan", "forsta_aterkoppling",
            "hemtjanst-norr", "soderkoping", "allvarlig_handelse", "email"} <= set(ids)
    cases = _register_everything(app)
    _act(at(app, RECEIVED), cases)
    _covers_every_category_flag_and_channel(app)
    with app.sessions() as session:
        rows = list(session.scalars(select(Outbox).order_by(Outbox.id)))
        numbers = {c.id: c.diarienummer for c in session.scalars(select(Case))}
    kinds = {row.kind for row in rows}
    assert kinds >= {"mottagningsbevis", "underrattelse", "sammanstallning",
                     "forseningsbesked", "aterkoppling", "bekraftelse"}
    assert {row.channel for row in rows} >= {"email", "sms"}
    found = []
    for row in rows:
        text = text_of(row)
        found += [f"{row.kind} till {row.recipient}: {i}" for i in ids_in(text, ids)]
        if row.case_id is not None:  # a mail about a case names it
            assert numbers[row.case_id] in text or numbers[row.case_id].lower() in text, text
        else:
            assert "EKBY 2026/" in text
    assert found == [], "\n".join(found)
    assert_reports_in_words(app, ids)


def assert_reports_in_words(app: App, ids: dict[str, str]) -> None:
    with app.sessions() as session:
        stats = compute(session, app.kommun, half_year(2026, 2), MORNING.date())
    assert stats.by_channel and stats.by_aspect and stats.excluded and stats.measures
    csv_text = as_csv(stats)
    assert ids_in(csv_text, ids) == []
    book = load_workbook(io.BytesIO(as_xlsx(stats)))
    cells = " ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True)
                     for v in row if v is not None)
    assert ids_in(cells, ids) == []
    assert "2026-07-01 – 2026-12-31" in cells
    pdf = PdfReader(io.BytesIO(as_pdf(stats, "Ekby kommun", MADE)))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert ids_in(text, ids) == []
    # The last day of the period, not the day after it; the time in Swedish time, named.
    assert "2026-07-01 - 2026-12-31" in text and "2027-01-01" not in text
    assert "Sammanställd 5 december 2026 kl. 09.30 (svensk tid)" in text
    assert "klagomål" in text and "e-post" in text

