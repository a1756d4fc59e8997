"""Which routine a case gets, and what the routine says about reminders."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.kommun import load_kommun
from config.settings import SHIPPED_CONFIG
from tests.unit.test_config import copy_config, edit, line_of

ROUTINES = load_kommun(SHIPPED_CONFIG).routines


@pytest.mark.parametrize(("rule", "enhet", "forvaltning", "chosen"), [
    ("essunga", "socialpsykiatri", "soc", "essunga"),  # a routing rule decides first
    (None, "socialpsykiatri", "soc", "nacka_socialpsykiatri"),  # then the enhet
    (None, "hemtjanst_norr", "soc", "soderkoping"),  # then the förvaltning
    (None, "gata_park", "sbf", "hasselby_stadsmiljo"),
    (None, "bibliotek", "kof", "soderkoping"),  # then `standard`
    (None, "registrator", None, "soderkoping"),
])
def test_the_profile_a_case_gets(rule: str | None, enhet: str, forvaltning: str | None,
                                  chosen: str) -> None:
    assert ROUTINES.choose(rule, enhet, forvaltning)[0] == chosen


def test_reminder_lead_defaults_to_two_arbetsdagar() -> None:
    assert ROUTINES.profiler["soderkoping"].paminnelse_arbetsdagar == 2
    assert ROUTINES.profiler["nacka_socialpsykiatri"].paminnelse_arbetsdagar == 1
    forwarding = {k for k, p in ROUTINES.profiler.items() if p.anonyma == "vidarebefordra"}
    assert forwarding == {"hasselby_vallingby", "hasselby_stadsmiljo"}  # 002:199
    assert ROUTINES.forwards_only("hasselby_vallingby", has_contact=False)
    assert not ROUTINES.forwards_only("hasselby_vallingby", has_contact=True)
    assert not ROUTINES.forwards_only("nacka_socialpsykiatri", has_contact=False)


def test_an_unknown_profile_in_val_names_file_and_line(tmp_path: Path) -> None:
    root = copy_config(tmp_path)
    path = root / "routines.yaml"
    edit(path, "gata_park: hasselby_stadsmiljo", "gata_park: hasselby_gator")
    with pytest.raises(ConfigError) as info:
        load_kommun(root)
    assert info.value.path == path
    assert info.value.line == line_of(path, "gata_park: hasselby_gator")
    assert "okänd rutin 'hasselby_gator'" in str(info.value)
