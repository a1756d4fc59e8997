"""Gallring's pure part (dates, what of an event is kept), the gallring block
of organisation.yaml, and how a registerutdrag recognises its sender."""

from __future__ import annotations

import ast
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cases.export import from_addresses, sender_of
from cases.retention import (
    CODE_KEYS,
    FREE_TEXT_KEYS,
    STRUCTURAL_KEYS,
    cutoffs,
    is_cleared,
    months_before,
    reason_code,
    scrub_detail,
)
from config.errors import ConfigError
from config.kommun import load_kommun
from config.layers import PACKAGES
from config.organisation import Gallring
from config.settings import SHIPPED_CONFIG
from deadlines.calendar import STOCKHOLM

ROOT = Path(__file__).resolve().parents[2]
MARK = "[gallrad 2029-01-01]"


@pytest.mark.parametrize(("moment", "months", "expected"), [
    (datetime(2029, 5, 31, 8, 0), 3, datetime(2029, 2, 28, 8, 0)),
    (datetime(2028, 5, 31, 8, 0), 3, datetime(2028, 2, 29, 8, 0)),
    (datetime(2029, 1, 15), 1, datetime(2028, 12, 15)),
    (datetime(2029, 1, 15), 24, datetime(2027, 1, 15)),
    (datetime(2029, 3, 1), 12 * 10 + 2, datetime(2019, 1, 1)),
])
def test_months_before_counts_calendar_months(moment: datetime, months: int,
                                              expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_cutoffs_follow_the_policy_in_swedish_time() -> None:
    policy = Gallring.model_validate({"ärenden_månader_efter_avslut": 24,
                                      "automatisk_post_dagar": 30})
    now = datetime(2029, 1, 1, 0, 30, tzinfo=UTC)  # 01:30 in Stockholm
    cut = cutoffs(policy, now)
    assert cut.cases_closed_before == datetime(2027, 1, 1, 1, 30, tzinfo=STOCKHOLM)
    assert cut.automatic_before == datetime(2028, 12, 2, 1, 30, tzinfo=STOCKHOLM)
    assert cut.quarantined_before is None  # kept until a person has handled it
    assert cut.marker == MARK
    kept = cutoffs(Gallring.model_validate({"ärenden_månader_efter_avslut": 1,
                                            "karantän_dagar": 90}), now)
    assert kept.quarantined_before == datetime(2028, 10, 3, 1, 30, tzinfo=STOCKHOLM)


def test_is_cleared() -> None:
    assert is_cleared(None) and is_cleared("") and is_cleared(b"") and is_cleared(MARK)
    assert not is_cleared("Hej") and not is_cleared(b"x") and not is_cleared(" [gallrad")


def test_registered_event_keeps_everything_structural() -> None:
    detail = {"diarienummer": "EKBY 2026/0001", "enhet": "hemtjanst_norr",
              "category": "klagomal", "rule": "r1", "needs_review": False, "confidence": 0.9,
              "flags": ["sekretess"], "deadlines": {"aterkoppling": "2026-12-01"},
              "review_reasons": ["Låg säkerhet."], "notify": ["sektorchef"]}
    assert scrub_detail("case.registered", detail, MARK) is None


def test_free_texts_are_replaced_and_codes_kept() -> None:
    assert scrub_detail("case.closed", {"note": "Ringde Anna på 070-1234567",
                                        "deadlines_met": ["aterkoppling"]}, MARK) == {
        "note": MARK, "deadlines_met": ["aterkoppling"]}
    assert scrub_detail("case.delay_reason", {"reason": "sjuk"}, MARK) == {"reason": MARK}
    assert scrub_detail("inbound.ignored", {"reason": "auto-submitted"}, MARK) is None
    assert scrub_detail("x.failed", {"error": "OutcomeUnknownError", "attempt": 2}, MARK) is None
    assert scrub_detail("x.failed", {"error": "550 no such user anna@example.se"}, MARK) == {
        "error": MARK}
    # A key nobody has classified: strings, lists and mappings go, numbers stay.
    assert scrub_detail("new.kind", {"who": "Anna", "items": ["a"], "n": 3, "ok": True},
                        MARK) == {"who": MARK, "items": MARK, "n": 3, "ok": True}
    once = scrub_detail("case.note", {"note": "Anna"}, MARK)
    assert once is not None and scrub_detail("case.note", once, "[gallrad 2031-01-01]") is None


def test_every_audit_detail_key_in_the_code_is_classified() -> None:
    """A new detail key must be named structural, a code or free text here, so
    nobody's new key is kept or lost by accident."""
    known = STRUCTURAL_KEYS | CODE_KEYS | FREE_TEXT_KEYS
    positional = {"case_id", "inbound_id", "outbox_id", "at"}
    unknown = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "record"
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "audit"):
                    unknown |= {f"{path.name}:{k.arg}" for k in node.keywords
                                if k.arg and k.arg not in known | positional}
    assert unknown == set()


def test_reason_code_keeps_only_the_code() -> None:
    assert reason_code("noreply: avsändaren noreply@x.se", MARK) == f"noreply: {MARK}"
    assert reason_code(f"noreply: {MARK}", "[gallrad 2031-01-01]") == f"noreply: {MARK}"
    assert reason_code(None, MARK) is None


def test_the_shipped_configuration_decides_gallring() -> None:
    policy = load_kommun(SHIPPED_CONFIG).organisation.gallring
    assert policy is not None and policy.arenden_manader >= 1 and policy.beslut


@pytest.mark.parametrize(("line", "problem"), [
    ("  ärenden_månader_efter_avslut: 0", "minst 1"),
    ("  ärenden_månader_efter_avslut: tjugo", "integer"),
    ("  karantän_dagar: -5", "minst 1"),
    ("  okänd_nyckel: 3", "Extra inputs"),
])
def test_a_bad_gallring_value_is_one_line_with_file_and_line(
        tmp_path: Path, line: str, problem: str) -> None:
    config = tmp_path / "cfg"
    shutil.copytree(SHIPPED_CONFIG, config)
    path = config / "organisation.yaml"
    lines = path.read_text("utf-8").splitlines()
    start = lines.index("gallring:")
    key = line.split(":")[0]
    at = next((i for i in range(start, start + 12) if lines[i].startswith(key + ":")),
              start + 1)
    if at == start + 1:
        lines.insert(at, line)
    else:
        lines[at] = line
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(ConfigError) as info:
        load_kommun(config)
    message = str(info.value)
    assert message.startswith(f"{path}:{at + 1}: gallring.") and problem in message
    assert "\n" not in message


def test_without_a_gallring_block_nothing_is_decided(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    shutil.copytree(SHIPPED_CONFIG, config)
    path = config / "organisation.yaml"
    text = path.read_text("utf-8")
    start = text.index("gallring:")
    end = text.index("förvaltningar:")
    path.write_text(text[:start] + text[end:], "utf-8")
    assert load_kommun(config).organisation.gallring is None


def test_the_sender_of_a_registerutdrag() -> None:
    assert sender_of("  Anna.Berg@Example.SE ") == sender_of("anna.berg@example.se")
    assert sender_of("Anna <anna@example.se>") == sender_of("anna@example.se")
    email = sender_of("anna@example.se")
    assert email is not None and (email.kind, email.value) == ("email", "anna@example.se")
    phone = sender_of("070-123 45 67")
    assert phone is not None and (phone.kind, phone.value) == ("phone", "+46701234567")
    assert sender_of("0046 70 123 45 67") == phone
    assert sender_of("Posten") is None and sender_of("anna@") is None


def test_from_addresses_reads_only_the_header() -> None:
    head = (b"From: =?utf-8?q?Anna_Berg?= <Anna.Berg@Example.se>\r\n"
            b"Sender: list@lists.example\r\nTo: synpunkter@ekby.example\r\n\r\n"
            b"From: someone@else.example\r\n")
    assert from_addresses(head) == {"anna.berg@example.se", "list@lists.example"}
    assert from_addresses(b"\xff\xfe garbage") == set()
