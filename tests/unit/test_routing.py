"""The rule engine: words as people write them, the first rule decides,
`continue` only adds, the routines' alerts, every rule explained, and every
mistake in a rules file reported with file, line and rule."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from classify.triage import Category, Flag, Triage
from config.errors import ConfigError
from config.kommun import load_kommun
from config.settings import SHIPPED_CONFIG
from ingest.message import Channel, Message
from routing.engine import route
from routing.load import load_kommun_rules, load_rules
from routing.reload import RulesRouter
from routing.rules import RuleSet
from routing.words import PhraseSet, Vocabulary, as_written, compile_phrase, tokens_of

KOMMUN = load_kommun(SHIPPED_CONFIG)
ORG = KOMMUN.organisation
ROUTINES = KOMMUN.routines.profiler
SURE = Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False)


def message(text: str, subject: str = "", sender: str | None = "anna@example.se",
            channel: Channel = Channel.EMAIL) -> Message:
    return Message(channel=channel, sender=sender, display_name=None, subject=subject, text=text)


def rules_file(tmp_path: Path, body: str, name: str = "routing.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), "utf-8")
    return path


def load(tmp_path: Path, body: str) -> RuleSet:
    return load_rules(rules_file(tmp_path, body), ORG, ROUTINES)


# --- words ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Hemtjänsten kom inte", "HEMTJÄNSTENS personal",
                                  "hemtjansten kom inte", "om hemtjänst i Lövsta"])
def test_a_word_matches_as_people_write_it(text: str) -> None:
    assert find(["hemtjänst"], text) is not None


def find(words: list[str], text: str) -> tuple[str, object] | None:
    phrases = tuple(compile_phrase(w) for w in words)
    return PhraseSet(phrases).find(tokens_of(text, Vocabulary(phrases)))


@pytest.mark.parametrize(("word", "text", "hit"), [
    ("kärl", "Karl ringde om sin mamma på boendet", False),  # å: no folding
    ("kärl", "karlet tommdes inte", True),  # an SMS typed without å, ä, ö
    ("hemtjänst*", "hemtjänstpersonalen var sen", True),
    ("*skola", "grundskolan i Lövsta", True),
    ("*skola", "skolans mat", True),
    ("=fritids", "mer frukt på fritids", True),
    ("=fritids", "på fritiden spelar jag", False),
    ("fritids", "på fritiden spelar jag", True),  # the lemma of fritids is fritid
    ("Ekby centrum", "bor i Ekby centrum nära torget", True),
    ("Ekby centrum", "centrum i Ekby", False),
    ("Ekby centrum", "Ekby har ett torg, och jag bor i Ekby centrum", True),  # the second Ekby
    ("hemtjänst* personal", "hemtjänstens personal var sen", True),  # a wildcard first
    ("hemtjänst* personal", "personal från hemtjänsten", False),
    ("gatlampa", "Gatlamporna är släckta", True),
    ("tömt", "tomten är igenvuxen, så här kan det inte se ut", False),
    ("tömt", "kärlet har inte tömts på två veckor", True),
    ("skola", "vad ska vi göra nu", False),  # the lookup table's lemma of ska is skola
    ("skola", "det skulle ha kommit i går", False),
    ("skola", "skolan i Lövsta", True),
])
def test_word_matching(word: str, text: str, hit: bool) -> None:
    assert (find([word], text) is not None) is hit


def test_a_word_list_reports_what_matched() -> None:
    found = find(["snöröjning*", "plogad*", "halka"], "Gatan är inte plogad än")
    assert found is not None and found[0] == "plogad"
    assert getattr(found[1], "text", None) == "plogad*"


# --- the engine -------------------------------------------------------------------

BASIC = """
words:
  hemtjanst: [hemtjänst*, trygghetslarm*]
places:
  norr: [Norrby, Lövsta]
rules:
  - id: tillagg
    description: Sektorchefen vill se allt om trygghetslarm
    when: {words: [trygghetslarm*]}
    then: {notify: [sektorchef], routine: essunga, flags: [felanmalan]}
    continue: true
  - id: norr
    description: Hemtjänst i norr
    when: {all: [{words: $hemtjanst}, {places: norr}]}
    then: {enhet: hemtjanst_norr}
  - id: felanmalan-larm
    description: Felanmälan av larm (nås bara via flaggan som regeln ovan la till)
    when: {flag: felanmalan}
    then: {enhet: hemtjanst_soder}
  - id: buss
    description: Bussar
    when: {words: [buss*]}
    then: {extern: kollektivtrafik}
"""


def test_the_first_matching_rule_decides_and_every_rule_is_explained(tmp_path: Path) -> None:
    rules = load(tmp_path, BASIC)
    d = route(rules, message("Hemtjänsten i Lövsta kom aldrig i går."), SURE)
    assert (d.enhet, d.extern, d.rule, d.needs_review) == ("hemtjanst_norr", None, "norr", False)
    assert [(t.rule, t.matched, t.decided) for t in d.trace] == [
        ("tillagg", False, False), ("norr", True, True)]
    assert "”hemtjänsten” i texten matchar ”hemtjänst*”" in d.explanation
    assert "”lövsta” i texten matchar ”Lövsta” (lista norr)" in d.explanation
    assert d.rules_version == rules.version and rules.version.startswith("rules:")


def test_continue_only_adds_and_its_flags_count_for_later_rules(tmp_path: Path) -> None:
    rules = load(tmp_path, BASIC)
    d = route(rules, message("Trygghetslarmet piper hela tiden i Söderby."), SURE)
    assert d.rule == "felanmalan-larm" and d.enhet == "hemtjanst_soder"
    assert d.notify == ("sektorchef",) and d.routine == "essunga"
    assert d.flags == frozenset({"felanmalan"})


def test_no_rule_sends_the_message_to_the_registrator(tmp_path: Path) -> None:
    d = route(load(tmp_path, BASIC), message("Tack för en fin sommar!"), SURE)
    assert (d.enhet, d.rule, d.needs_review) == ("registrator", None, True)
    assert "Ingen regel passade" in d.explanation


def test_an_extern_rule_leaves_the_case_with_the_registrator(tmp_path: Path) -> None:
    d = route(load(tmp_path, BASIC), message("Bussen 3 kom inte."), SURE)
    assert (d.enhet, d.extern, d.needs_review) == ("registrator", "kollektivtrafik", True)


def test_an_unsure_classifier_keeps_the_enhet_but_asks_for_review(tmp_path: Path) -> None:
    unsure = Triage(category=Category.SYNPUNKT, confidence=0.4, needs_review=True,
                    review_reasons=("osäker kategori (40%)",))
    d = route(load(tmp_path, BASIC), message("Hemtjänsten i Norrby kunde komma tidigare."),
              unsure)
    assert d.enhet == "hemtjanst_norr" and d.needs_review
    assert "osäker kategori" in d.explanation


def test_a_serious_incident_alerts_the_chefs_whatever_the_rules_say(tmp_path: Path) -> None:
    triage = Triage(category=Category.KLAGOMAL, confidence=0.9, needs_review=False,
                    flags=frozenset({Flag.ALLVARLIG_HANDELSE}))
    d = route(load(tmp_path, BASIC), message("Hemtjänsten i Lövsta lät mamma ligga på golvet."),
              triage)
    assert d.enhet == "hemtjanst_norr"
    assert d.notify == ("enhetschef", "sektorchef") and d.priority == "akut" and d.urgent
    assert d.trace[-1].rule == "rutin:allvarlig_handelse"


def test_suggested_enhet_follows_the_classifier_only_above_the_bar(tmp_path: Path) -> None:
    rules = load(tmp_path, """
        rules:
          - id: modellen
            description: Klassningens förslag
            when: {suggested_enhet: {min_confidence: 0.8}}
            then: {enhet: suggested}
        """)
    sure = Triage(category=Category.KLAGOMAL, needs_review=False, top_enhet="bibliotek",
                  enhet_confidence=0.93)
    unsure = Triage(category=Category.KLAGOMAL, needs_review=False, top_enhet="bibliotek",
                    enhet_confidence=0.42)
    assert route(rules, message("x"), sure).enhet == "bibliotek"
    d = route(rules, message("x"), unsure)
    assert d.enhet == "registrator"
    assert d.trace[0].why == "klassningen föreslår bibliotek (42% säker, under 80%)"


def test_sender_channel_language_regex_and_not(tmp_path: Path) -> None:
    rules = load(tmp_path, r"""
        rules:
          - id: skolan-sms
            description: SMS från skolans domän om en klass
            when:
              all:
                - sender: [ekbyskolan.example]
                - not: {channel: [sms]}
                - language: [sv]
                - regex: '\bklass\s*[1-6][a-d]?\b'
            then: {enhet: ekbyskolan}
        """)
    hit = message("Klass 4b behöver nya böcker", sender="larare@elev.ekbyskolan.example")
    assert route(rules, hit, SURE).enhet == "ekbyskolan"
    other = message("Klass 4b behöver nya böcker", sender="larare@example.se")
    assert route(rules, other, SURE).enhet == "registrator"
    sms = message("Klass 4b", sender="x@ekbyskolan.example", channel=Channel.SMS)
    assert route(rules, sms, SURE).enhet == "registrator"


# --- mistakes in the file: one line, file, line and rule --------------------------


@pytest.mark.parametrize(("body", "line", "words"), [
    ("rules:\n  - id: a\n    description: x\n    when: {words: [park]}\n"
     "    then: {enhet: parken}\n", 5, "regel 'a': okänd enhet 'parken'"),
    ("rules:\n  - id: a\n    description: x\n    when: {words: [park]}\n"
     "    then: {extern: nasa}\n", 5, "okänd extern instans 'nasa'"),
    ("rules:\n  - id: a\n    description: x\n    when: {regex: '(unclosed'}\n"
     "    then: {enhet: va}\n", 4, "felaktigt reguljärt uttryck"),
    ("rules:\n  - id: a\n    description: x\n    when: {wrods: [park]}\n"
     "    then: {enhet: va}\n", 4, "okänd nyckel 'wrods'"),
    ("rules:\n  - id: a\n    description: x\n    when: {words: [park]}\n    then: {enhet: va}\n"
     "  - id: a\n    description: y\n    when: {words: [vatten]}\n    then: {enhet: va}\n",
     6, "id:t finns redan på rad 2"),
    ("rules:\n  - id: alla\n    description: allt\n    then: {registrator: true}\n"
     "  - id: sen\n    description: nås aldrig\n    when: {words: [x]}\n    then: {enhet: va}\n",
     5, "regel 'sen': regeln nås aldrig: regel 'alla' (rad 2)"),
    ("rules:\n  - id: a\n    description: x\n    when: {words: [$saknas]}\n"
     "    then: {enhet: va}\n", 4, "ordlistan 'saknas' finns inte"),
    ("rules:\n  - id: a\n    description: x\n    when: {flag: [brand]}\n"
     "    then: {enhet: va}\n", 4, "okänd flagga 'brand'"),
    ("rules:\n  - id: a\n    description: x\n    when: {words: [x]}\n"
     "    then: {enhet: va, notify: [chefen]}\n", 5, "'chefen' är varken en e-postadress"),
    ("rules:\n  - id: a\n    description: x\n    when: {words: [x]}\n"
     "    then: {enhet: va}\n    continue: true\n", 5, "får bara lägga till"),
    ("rules:\n  - id: a\n    description: x\n    when: {words: [x]}\n"
     "    then: {enhet: va, routine: snabb}\n", 5, "okänd rutin 'snabb'"),
    ("rules:\n  - id: a\n    description: x\n    when: {words: [x]}\n"
     "    then: {enhet: suggested}\n", 5, "kräver villkoret suggested_enhet"),
    ("rules:\n  - id: a\n    when: {words: [x]}\n    then: {enhet: va}\n", 2,
     "description saknas"),
])
def test_a_mistake_names_file_line_and_rule(tmp_path: Path, body: str, line: int,
                                            words: str) -> None:
    path = rules_file(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_rules(path, ORG, ROUTINES)
    assert info.value.path == path
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_the_shipped_rules_cover_every_enhet_and_external_instance() -> None:
    rules = load_kommun_rules(KOMMUN)
    routed = {r.then.enhet for r in rules.rules} | {r.then.extern for r in rules.rules}
    for _, _, enhet in ORG.enheter():
        assert enhet.id in routed or enhet.id == "registrator", enhet.id
    for extern in ORG.externa_instanser:
        assert extern.id in routed, extern.id


# --- a changed file is picked up; a broken one is not used -------------------------


def test_a_running_router_picks_up_a_changed_file_and_ignores_a_broken_one(
        tmp_path: Path) -> None:
    path = rules_file(tmp_path, BASIC)
    clock = [0.0]
    router = RulesRouter(load_rules(path, ORG, ROUTINES), ORG, ROUTINES, check_seconds=1.0,
                         clock=lambda: clock[0])
    text = message("Bussen kom inte till Lövsta")
    assert router.route(text, SURE).extern == "kollektivtrafik"
    first = router.rules.version

    path.write_text(BASIC.replace("extern: kollektivtrafik", "enhet: gata_park"), "utf-8")
    os.utime(path, ns=(1, 10**18))  # a different stamp even within one clock tick
    assert router.route(text, SURE).extern == "kollektivtrafik"  # not checked yet
    clock[0] = 1.5
    decision = router.route(text, SURE)
    assert decision.enhet == "gata_park" and decision.rules_version != first

    path.write_text(BASIC.replace("enhet: hemtjanst_norr", "enhet: hemtjanst_nord"), "utf-8")
    os.utime(path, ns=(2, 2 * 10**18))
    clock[0] = 3.0
    kept = router.route(text, SURE)
    assert kept.rules_version == decision.rules_version  # the last good rules stay
    assert router.last_error is not None and "hemtjanst_nord" in str(router.last_error)


# --- the lemma table read when routing needs it, not at start ----------------------


def test_words_checked_without_lemmas_get_them_before_the_first_route() -> None:
    """A command's start checks the rules without the lemma table (routing.load,
    ``lemmas=False``); the router makes them whole before it routes, so a
    word the rules file writes inflected (`buskar`) still matches its lemma
    (`buske`), as the fully compiled rules do."""
    text = message("En stor buske skymmer sikten vid korsningen i Norrby.")
    written = tuple([compile_phrase("buskar", as_written)])
    assert PhraseSet(written).find(tokens_of(text.text, Vocabulary(written))) is None
    assert find(["buskar"], text.text) is not None
    checked = load_kommun_rules(KOMMUN, lemmas=False)
    whole = load_kommun_rules(KOMMUN)
    assert not checked.lemmatised and whole.lemmatised and checked.version == whole.version
    assert route(checked, text, SURE).enhet == "registrator"  # not yet whole: no rule knew it
    router = RulesRouter(checked, ORG, ROUTINES)
    decision = router.route(text, SURE)
    assert decision == route(whole, text, SURE) and decision.enhet == "gata_park"
    assert router.rules.lemmatised
    texts = [message(t) for t in ("Bussen kom inte till Lövsta", "Gatorna är inte plogade",
                                  "Hyran höjdes igen", "Förskolan stängde tidigt")]
    for m in texts:
        assert router.route(m, SURE) == route(whole, m, SURE), m.text


def test_a_command_that_routes_nothing_does_not_read_the_lemma_table(tmp_path: Path) -> None:
    probe = ("from config.settings import Settings; from service.app import build_app; "
             f"build_app(Settings(home={str(tmp_path)!r})); "
             "from classify.lemmas import lemma_table; print(lemma_table.cache_info().currsize)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "0", done.stderr[-2000:]
