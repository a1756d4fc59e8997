"""When a new case can wait for its chef's morning digest, and what the
digest then says (pure: no database)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.kommun import load_kommun
from config.settings import SHIPPED_CONFIG
from deadlines.calendar import STOCKHOLM
from notify.digest import (
    Digest,
    NewCase,
    OpenDeadline,
    build_digests,
    can_wait_for_digest,
    next_digest_day,
    render_digest,
)

KOMMUN = load_kommun(SHIPPED_CONFIG)
NORR = KOMMUN.organisation.enhet("hemtjanst_norr")


def _at(day: int, month: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


def test_the_next_digest_is_this_mornings_before_eight_else_the_next_working_days() -> None:
    assert next_digest_day(_at(2, 12, 7, 59)) == date(2026, 12, 2)  # a Wednesday
    assert next_digest_day(_at(2, 12, 8, 0)) == date(2026, 12, 3)
    assert next_digest_day(_at(4, 12, 9, 0)) == date(2026, 12, 7)  # Friday → Monday
    assert next_digest_day(_at(5, 12, 7, 0)) == date(2026, 12, 7)  # Saturday
    # 23 December: julafton, juldagen, annandag jul (a Saturday) and a Sunday follow
    assert next_digest_day(_at(23, 12, 10, 0)) == date(2026, 12, 28)


def test_a_case_waits_only_when_its_first_deadline_is_beyond_the_reminder_lead() -> None:
    wednesday = _at(2, 12, 10, 0)  # next digest Thursday 3rd; 2 arbetsdagar on: Monday 7th
    assert not can_wait_for_digest(wednesday, date(2026, 12, 7), 2)
    assert can_wait_for_digest(wednesday, date(2026, 12, 8), 2)
    assert not can_wait_for_digest(wednesday, date(2026, 12, 8), 3)
    assert can_wait_for_digest(wednesday, None, 2)  # nothing due: nothing to miss
    # Friday evening, a 3-dagar deadline on Monday: never left to Monday's digest
    assert not can_wait_for_digest(_at(4, 12, 17, 0), date(2026, 12, 7), 0)


def test_the_chef_reads_the_handed_over_cases_first_and_the_known_ones_apart() -> None:
    assert NORR is not None
    chef = NORR.chef
    mine = NewCase(7, "EKBY 2026/0007", "hemtjanst_norr", "klagomal", ("enhetschef",),
                   date(2027, 1, 4), ("overklagande",))
    known = NewCase(8, "EKBY 2026/0008", "hemtjanst_norr", "klagomal", ("sektorchef",))
    [digest] = build_digests(KOMMUN.organisation, [], date(2026, 12, 3),
                             [(chef, mine), (chef, known)])
    assert digest.handed_over == (mine,) and digest.for_knowledge == (known,)
    mail = render_digest(KOMMUN, digest, _at(3, 12, 8, 0), web="https://synpunkt.ekby.example")
    assert mail.subject == "Synpunkt: 1 nytt ärende till dig; 1 nytt för kännedom"
    text = mail.text
    assert "1 nytt ärende till dig och 1 nytt ärende för kännedom." in text
    assert ("Nya ärenden till dig att handlägga:\n- EKBY 2026/0007 (Hemtjänst Norr): "
            "klagomål, överklagande, första frist måndag 4 januari 2027 "
            "https://synpunkt.ekby.example/cases/7\n") in text
    assert "- EKBY 2026/0008 (Hemtjänst Norr): klagomål, du informeras som sektorchef" in text
    assert text.index("till dig att handlägga") < text.index("för kännedom (")
    assert "registrera det i ärendet" in text  # how the reminders stop, as for a deadline


def test_the_subject_counts_what_the_digest_holds() -> None:
    assert NORR is not None
    late = OpenDeadline(1, "EKBY 2026/0001", "hemtjanst_norr", "aterkoppling", "",
                        date(2026, 12, 1))
    mine = NewCase(2, "EKBY 2026/0002", "hemtjanst_norr", "synpunkt", ("enhetschef",))
    three = Digest(NORR.chef, date(2026, 12, 3), (), (late,), (), (mine,))
    assert render_digest(KOMMUN, three, _at(3, 12, 8, 0)).subject == (
        "Synpunkt: 1 nytt ärende till dig; 1 ärende med tidsfrist, varav 1 försenat")
    only_late = Digest(NORR.chef, date(2026, 12, 3), (), (late,))
    assert render_digest(KOMMUN, only_late, _at(3, 12, 8, 0)).subject == (
        "Synpunkt: 1 ärende med tidsfrist, varav 1 försenat")


def test_an_unknown_choice_for_the_chef_is_one_line_naming_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    for path in SHIPPED_CONFIG.iterdir():
        if path.is_file():
            (config / path.name).write_bytes(path.read_bytes())
        else:
            (config / path.name).symlink_to(path)
    routines = config / "routines.yaml"
    routines.write_text(routines.read_text("utf-8").replace(
        "    till_chefen: direkt\n", "    till_chefen: genast\n", 1), "utf-8")
    with pytest.raises(ConfigError) as error:
        load_kommun(config)
    said = str(error.value)
    assert re.search(r"routines\.yaml:\d+: profiler\.nacka_socialpsykiatri\.till_chefen: ", said)
    assert "'direkt' or 'sammanställning'" in said and "\n" not in said
