"""One vocabulary (config.words): every id the program keeps, and every one
the shipped configuration names, has words a person reads."""

from __future__ import annotations

import ast
from pathlib import Path

from cases.models import CaseStatus, InboundStatus, OutboxStatus
from classify.corpus import ASPECTS, CATEGORIES
from classify.triage import Flag
from config.kommun import load_kommun
from config.settings import SHIPPED_CONFIG
from config.words import CASE_STATUS, CHANNEL, INBOUND_STATUS, OUTBOX_STATUS, Words, event_word
from ingest.message import Channel
from routing.rules import Priority

ROOT = Path(__file__).resolve().parents[2]
KOMMUN = load_kommun(SHIPPED_CONFIG)
WORDS = Words(KOMMUN)
PACKAGES = ("cases", "service", "notify", "review", "cli", "workers", "ingest")


def test_every_label_and_state_has_a_word() -> None:
    for value in CATEGORIES:
        assert WORDS.category(value) != value or value == "synpunkt"
    for flag in (*Flag, "sammanstallning"):
        assert "_" not in WORDS.flag(str(flag))
    for aspect in ASPECTS:
        assert WORDS.aspect(aspect) and "_" not in WORDS.aspect(aspect)
    assert set(CHANNEL) >= {str(c) for c in Channel}
    assert set(CASE_STATUS) == {str(s) for s in CaseStatus}
    assert set(INBOUND_STATUS) == {str(s) for s in InboundStatus}
    assert set(OUTBOX_STATUS) == {str(s) for s in OutboxStatus}
    assert all(WORDS.priority(str(p)) for p in Priority)


def test_every_id_in_the_configuration_has_its_name() -> None:
    org = KOMMUN.organisation
    for _, _, enhet in org.enheter():
        assert WORDS.enhet(enhet.id) == enhet.namn
    for instance in org.externa_instanser:
        assert WORDS.extern(instance.id) == instance.namn
    for rid, routine in KOMMUN.routines.profiler.items():
        assert WORDS.routine(rid) == routine.namn
        for frist in routine.frister:
            assert WORDS.deadline(frist.typ) != frist.typ
    assert WORDS.deadline("allvarlig_bedomning") != "allvarlig_bedomning"


def test_every_event_the_code_records_has_words() -> None:
    """Read the code: each literal event kind given to audit.record, and each
    outbox kind's events, read as words rather than as an id."""
    kinds = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "record" and len(node.args) >= 3
                        and isinstance(node.args[2], ast.Constant)
                        and isinstance(node.args[2].value, str)):
                    kinds.add(node.args[2].value)
    assert len(kinds) > 15
    for kind in (*kinds, "mottagningsbevis.sent", "aterkoppling.failed", "bekraftelse.uncertain"):
        assert event_word(kind) != kind, kind
