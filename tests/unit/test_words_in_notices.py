"""Issue 24: the chef's notice and the reports say words, not ids; a time a
person reads is Swedish time; a period shows its last day. Pure: the shipped
configuration and the real routing rules, no database (the whole pipeline
is walked in tests/integration/test_words_in_output.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from classify.triage import Category, Flag, Triage
from config.kommun import load_kommun
from config.settings import SHIPPED_CONFIG
from config.words import Words
from ingest.message import Channel, Message
from notify.digest import Digest, OpenDeadline, render_digest
from notify.notices import CaseFacts, render_notices
from notify.swedish import local_time
from review.stats import half_year, parse_period
from routing.engine import route
from routing.load import load_kommun_rules

KOMMUN = load_kommun(SHIPPED_CONFIG)
RULES = load_kommun_rules(KOMMUN)
RECEIVED = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))


def _notices(text: str, category: str | None, flags: frozenset[Flag],
             extern: str | None = None) -> list[str]:
    message = Message(channel=Channel.EMAIL, sender="anna@example.se", display_name="Anna",
                      subject="Synpunkt", text=text)
    triage = Triage(category=Category(category) if category else None, confidence=0.9,
                    needs_review=False, flags=flags, extern=extern)
    decision = route(RULES, message, triage)
    facts = CaseFacts("EKBY 2026/0042", category, frozenset(map(str, flags)), message.subject,
                      text, RECEIVED, ())
    return [f"{n.subject}\n{n.text}" for n in render_notices(KOMMUN, facts, decision, RECEIVED)]


def test_the_chef_reads_the_category_the_flags_and_why_in_words() -> None:
    [notice] = _notices("Gatlampan i Lövsta är trasig.", "klagomal",
                        frozenset({Flag.FELANMALAN}))
    assert "Kategori: klagomål" in notice and "klagomal" not in notice
    assert "Att tänka på: felanmälan." in notice and "felanmalan" not in notice
    assert "Varför hit: Regeln (Snöröjning, halka, gatubelysning" in notice
    assert "gata-park-drift" not in notice and "gata_park" not in notice
    assert "Diarienummer: EKBY 2026/0042" in notice


def test_an_explanation_names_what_it_tested() -> None:
    notices = _notices("Min mamma på Solgården föll och låg länge på golvet.", "klagomal",
                       frozenset({Flag.ALLVARLIG_HANDELSE}))
    assert notices and all("Solgårdens vård- och omsorgsboende" in n for n in notices)
    assert not any("solgarden" in n.replace("”solgården”", "") or "allvarlig_handelse" in n
                   for n in notices)


def test_words_in_a_sentence_leave_quotes_addresses_and_links() -> None:
    words = Words(KOMMUN)
    said = ("kategorin är klagomal; ”klagomal” i texten; flaggan allvarlig_handelse är satt; "
            "Frågan hör till forsakringskassan; klassningen föreslår hemtjanst_norr.")
    assert words.in_words(said) == (
        "kategorin är klagomål; ”klagomal” i texten; flaggan möjlig allvarlig händelse är satt; "
        "Frågan hör till Försäkringskassan; klassningen föreslår Hemtjänst Norr.")
    kept = "registrator@ekby.example, www.polisen.se, https://ekby.example/cases/va"
    assert words.in_words(kept) == kept


def test_the_digest_names_the_enhet_and_the_deadline() -> None:
    chef = KOMMUN.organisation.enhet("socialpsykiatri")
    assert chef is not None
    late = OpenDeadline(7, "EKBY 2026/0007", "socialpsykiatri", "forsta_aterkoppling", "",
                        date(2026, 12, 1))
    mail = render_digest(KOMMUN, Digest(chef.chef, date(2026, 12, 7), (), (late,)), RECEIVED)
    assert "(Socialpsykiatri): en första återkoppling, senast tisdag 1 december 2026" in mail.text
    assert "forsta_aterkoppling" not in mail.text and "socialpsykiatri" not in mail.text


def test_a_time_is_swedish_time_and_a_period_shows_its_last_day() -> None:
    assert local_time(datetime(2026, 12, 5, 8, 30, tzinfo=UTC)) == "5 december 2026 kl. 09.30"
    assert local_time(datetime(2026, 7, 1, 6, 5, tzinfo=UTC)) == "1 juli 2026 kl. 08.05"
    assert local_time(datetime(2026, 12, 31, 23, 30)) == "1 januari 2027 kl. 00.30"  # naive: UTC
    second = half_year(2026, 2)
    assert (second.last, second.span) == (date(2026, 12, 31), "2026-07-01 – 2026-12-31")
    assert parse_period("2027", date(2027, 3, 1)).span == "2027-01-01 – 2027-12-31"
