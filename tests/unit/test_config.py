"""The shipped configuration loads; a broken one is a single `PATH:LINE: problem`
line, both from load_kommun and through the real `synpunkt` command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.kommun import load_kommun
from config.organisation import REGISTRATOR
from config.settings import SHIPPED_CONFIG

ROUTINE_IDS = {
    "soderkoping", "nacka_socialpsykiatri", "hasselby_vallingby",
    "hasselby_stadsmiljo", "essunga", "socialnamnden_2005",
}


def _synpunkt() -> str:
    script = Path(sys.executable).parent / "synpunkt"
    if script.exists():
        return str(script)
    found = shutil.which("synpunkt")
    assert found is not None, "the synpunkt console script is not installed"
    return found


SYNPUNKT = _synpunkt()


# --- the shipped configuration ---------------------------------------------------


def test_shipped_config_loads() -> None:
    kommun = load_kommun(SHIPPED_CONFIG)
    org = kommun.organisation
    enheter = [e.id for _, _, e in org.enheter()]
    assert len(enheter) == 27
    assert len(set(enheter)) == 27
    assert REGISTRATOR in enheter
    assert org.enhet("registrator") is not None
    assert org.kommun.prefix == "EKBY"
    assert len(org.externa_instanser) == 6
    assert set(kommun.routines.profiler) == ROUTINE_IDS
    assert kommun.routines.standard == "soderkoping"


# --- broken copies ---------------------------------------------------------------


def copy_config(tmp_path: Path) -> Path:
    root = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """1-based number of the one line of ``path`` that contains ``needle`` (which
    may end in a newline to match a whole line's end)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} on lines {hits} of {path}"
    return hits[0]


@dataclass(frozen=True)
class Breakage:
    file: str  # relative to the config directory
    old: str
    new: str
    marker: str  # text on exactly the line the error must name, after the edit
    problem: str  # part of the problem text


BREAKAGES = {
    "chef-email-flow": Breakage(
        "organisation.yaml",
        "chef: {namn: Lars Öberg, epost: lars.oberg@ekby.example}",
        "chef: {namn: Lars Öberg, epost: lars.oberg(at)ekby.example}",
        "lars.oberg(at)ekby.example",
        "inte en giltig e-postadress",
    ),
    "chef-email-block": Breakage(
        "organisation.yaml",
        "            chef: {namn: Fatima Hassan, epost: fatima.hassan@ekby.example}\n",
        "            chef:\n"
        "              namn: Fatima Hassan\n"
        "              epost: fatima.hassan.ekby.example\n",
        "fatima.hassan.ekby.example",
        "inte en giltig e-postadress",
    ),
    "unknown-key-in-enhet": Breakage(
        "organisation.yaml",
        "            namn: Hemtjänst Söder\n",
        "            namn: Hemtjänst Söder\n            telefon: '08-123 45'\n",
        "telefon: '08-123 45'",
        "telefon: Extra inputs are not permitted",
    ),
    "duplicate-enhet-id": Breakage(
        "organisation.yaml",
        "      - id: bibliotek\n",
        "      - id: hemtjanst_norr  # dubblett\n",
        "# dubblett",
        "id 'hemtjanst_norr' finns redan",
    ),
    "extern-id-same-as-enhet": Breakage(
        "organisation.yaml",
        "  - id: polisen\n",
        "  - id: va  # dubblett\n",
        "# dubblett",
        "id 'va' finns redan",
    ),
    "yaml-syntax-error": Breakage(
        "organisation.yaml",
        "  domän: ekby.example\n",
        "  domän: ekby.example: fel\n",
        "ekby.example: fel",
        "ogiltig YAML",
    ),
    "yaml-tab-indent": Breakage(
        "routines.yaml",
        "\n  essunga:\n",
        "\n\tessunga:\n",
        "\tessunga:",
        "ogiltig YAML",
    ),
    "no-registrator-enhet": Breakage(
        # The registrator enhet renamed away: the error names the förvaltningar
        # list, whose value starts at its first item "- id: soc".
        "organisation.yaml",
        "      - id: registrator\n",
        "      - id: registratur\n",
        "  - id: soc\n",
        "enheten 'registrator' saknas",
    ),
    "unknown-standard-routine": Breakage(
        "routines.yaml",
        "standard: soderkoping\n",
        "standard: sodertalje\n",
        "standard: sodertalje",
        "okänd rutin 'sodertalje'",
    ),
    "frist-enhet-veckor": Breakage(
        "routines.yaml",
        "{typ: bekraftelse, antal: 5, enhet: arbetsdagar,",
        "{typ: bekraftelse, antal: 5, enhet: veckor,",
        "enhet: veckor",
        "profiler.essunga.frister[0].enhet",
    ),
    "jinja-unknown-tag": Breakage(
        "templates/mottagningsbevis.txt.j2",
        "Vad händer nu?\n",
        "Vad händer nu? {% bogus %}\n",
        "{% bogus %}",
        "fel i mallen: Encountered unknown tag 'bogus'",
    ),
    "jinja-bad-expression": Breakage(
        "templates/mottagningsbevis.txt.j2",
        "Du får {{ frist.beskrivning }} senast {{ frist.datum }}.\n",
        "Du får {{ frist.beskrivning frist.datum }}.\n",
        "{{ frist.beskrivning frist.datum }}",
        "fel i mallen",
    ),
}


def break_config(tmp_path: Path, b: Breakage) -> tuple[Path, Path, int]:
    """A broken copy: (config dir, the edited file, the line the error must name)."""
    root = copy_config(tmp_path)
    target = root / b.file
    edit(target, b.old, b.new)
    return root, target, line_of(target, b.marker)


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_broken_config_is_one_line_with_path_and_line(tmp_path: Path, name: str) -> None:
    b = BREAKAGES[name]
    root, target, line = break_config(tmp_path, b)
    with pytest.raises(ConfigError) as info:
        load_kommun(root)
    err = info.value
    assert err.path == target
    assert err.line == line
    assert b.problem in err.problem
    assert str(err) == f"{target}:{line}: {err.problem}"
    assert "\n" not in str(err)


def test_missing_organisation_yaml(tmp_path: Path) -> None:
    root = copy_config(tmp_path)
    (root / "organisation.yaml").unlink()
    with pytest.raises(ConfigError) as info:
        load_kommun(root)
    # A missing file has no line to name: the message is `PATH: problem`.
    assert info.value.path == root / "organisation.yaml"
    assert info.value.line is None
    assert str(info.value) == f"{root / 'organisation.yaml'}: filen saknas"


@pytest.mark.parametrize("name", ["mottagningsbevis.subject.j2", "mottagningsbevis.txt.j2"])
def test_missing_template(tmp_path: Path, name: str) -> None:
    root = copy_config(tmp_path)
    (root / "templates" / name).unlink()
    with pytest.raises(ConfigError) as info:
        load_kommun(root)
    assert info.value.path == root / "templates" / name
    assert str(info.value) == f"{root / 'templates' / name}: mallen saknas"


def test_missing_config_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_kommun(tmp_path / "finns_inte")
    assert str(info.value) == f"{tmp_path / 'finns_inte'}: konfigurationskatalogen finns inte"


# --- through the real command line ------------------------------------------------


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    clean["SYNPUNKT_HOME"] = str(tmp_path / "home")
    clean.update(env)
    return subprocess.run(
        [SYNPUNKT, *args], env=clean, cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )


@pytest.mark.parametrize(
    "name", ["chef-email-flow", "yaml-syntax-error", "frist-enhet-veckor", "jinja-unknown-tag"]
)
def test_cli_broken_config_exits_2_with_one_line(tmp_path: Path, name: str) -> None:
    root, target, line = break_config(tmp_path, BREAKAGES[name])
    result = run_cli(tmp_path, "cases", "list", SYNPUNKT_CONFIG=str(root))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("synpunkt: fel i konfigurationen: ")
    assert f"{target}:{line}: " in lines[0]
    assert result.stdout == ""


def test_cli_missing_organisation_exits_2(tmp_path: Path) -> None:
    root = copy_config(tmp_path)
    (root / "organisation.yaml").unlink()
    result = run_cli(tmp_path, "cases", "list", SYNPUNKT_CONFIG=str(root))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"synpunkt: fel i konfigurationen: {root / 'organisation.yaml'}: filen saknas"
    ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SYNPUNKT_POLL_SECONDS", "abc"),
        ("SYNPUNKT_POLL_SECONDS", "0"),
        ("SYNPUNKT_AUTO_REPLY_LIMIT", "-1"),
        ("SYNPUNKT_AUTO_REPLY_WINDOW_HOURS", "ett dygn"),
        ("SYNPUNKT_SMS_PROVIDER", "telia"),
        # Nested Limits settings carry their own prefix SYNPUNKT_LIMIT_.
        ("SYNPUNKT_LIMIT_PARTS", "abc"),
        ("SYNPUNKT_LIMIT_MESSAGE_BYTES", "0"),
    ],
)
def test_cli_bad_setting_exits_2_with_one_line(tmp_path: Path, variable: str, value: str) -> None:
    result = run_cli(tmp_path, "cases", "list", **{variable: value})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"synpunkt: fel i inställningen {variable}: ")


def test_cli_good_config_lists_cases(tmp_path: Path) -> None:
    # The counterpart of the failures above: the same command with the shipped
    # config copied to tmp_path works and says the register is empty.
    root = copy_config(tmp_path)
    result = run_cli(tmp_path, "cases", "list", SYNPUNKT_CONFIG=str(root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Inga ärenden ännu."


def test_cli_deadlines_json(tmp_path: Path) -> None:
    # Fri 18/12/2026 15:30 CET, before 16:00 -> receipt day Fri 18/12.
    # 5 arbetsdagar: Mon 21 (1), Tue 22 (2), Wed 23 (3), julafton/juldagen/weekend,
    # Mon 28 (4), Tue 29 (5). 10: Wed 30 (6), nyårsafton/nyårsdagen/weekend,
    # Mon 4/1 (7), Tue 5/1 (8), trettondedag Wed 6/1, Thu 7/1 (9), Fri 8/1 (10).
    result = run_cli(tmp_path, "deadlines", "--routine", "nacka_socialpsykiatri",
                     "--received", "2026-12-18T15:30:00+01:00", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    assert obj["routine"] == "nacka_socialpsykiatri"
    assert obj["receipt_day"] == "2026-12-18"
    assert [(d["kind"], d["due"]) for d in obj["deadlines"]] == [
        ("forsta_aterkoppling", "2026-12-29"),
        ("slutlig_aterkoppling", "2027-01-08"),
    ]


@pytest.mark.parametrize(
    ("received", "receipt", "due"),
    [
        # No zone means Swedish time. Thu 17/12/2026 15:30 -> receipt day Thu 17/12
        # (in UTC it would be 16:30 CET, the next day). 5 arbetsdagar: Fri 18 (1),
        # Mon 21 (2), Tue 22 (3), Wed 23 (4), julafton..söndag, Mon 28 (5);
        # 10: Tue 29 (6), Wed 30 (7), nyårsafton..söndag, Mon 4/1 (8), Tue 5/1 (9),
        # trettondedag Wed 6/1, Thu 7/1 (10).
        ("2026-12-17T15:30", "2026-12-17", ["2026-12-28", "2027-01-07"]),
        # Thu 17/12/2026 16:01 Swedish time -> receipt day Fri 18/12, the same
        # deadlines as test_cli_deadlines_json.
        ("2026-12-17T16:01", "2026-12-18", ["2026-12-29", "2027-01-08"]),
    ],
)
def test_cli_deadlines_naive_time_is_swedish(
    tmp_path: Path, received: str, receipt: str, due: list[str]
) -> None:
    result = run_cli(tmp_path, "deadlines", "--routine", "nacka_socialpsykiatri",
                     "--received", received, "--json")
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["receipt_day"] == receipt
    assert [d["due"] for d in obj["deadlines"]] == due


def test_cli_deadlines_no_contact(tmp_path: Path) -> None:
    # soderkoping's only frist is endast_med_kontaktuppgifter.
    result = run_cli(tmp_path, "deadlines", "--routine", "soderkoping",
                     "--received", "2026-03-04T10:00:00+01:00", "--no-contact", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["deadlines"] == []


@pytest.mark.parametrize("routine_id", sorted(ROUTINE_IDS))
def test_cli_deadlines_without_contact_promise_the_sender_nothing(routine_id: str) -> None:
    """Nobody to tell, nothing promised: what a routine keeps for a case
    without contact details is the verksamhet's own deadline (issue 23).
    In-process (click's runner): the command reads only the configuration."""
    from click.testing import CliRunner

    from cli import cli

    def deadlines(*extra: str) -> list[dict[str, object]]:
        result = CliRunner().invoke(cli, ["deadlines", "--routine", routine_id, "--received",
                                          "2026-03-04T10:00:00+01:00", "--json", *extra])
        assert result.exit_code == 0, result.output
        found: list[dict[str, object]] = json.loads(result.output)["deadlines"]
        return found

    without = deadlines("--no-contact")
    assert [d for d in without if d["promised_to_sender"]] == []
    with_contact = deadlines()
    assert with_contact and all(d["promised_to_sender"] for d in with_contact)
    assert {d["kind"] for d in without} <= {d["kind"] for d in with_contact}


def test_cli_deadlines_unknown_routine(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "deadlines", "--routine", "sodertalje",
                     "--received", "2026-12-18T15:30:00+01:00", "--json")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "sodertalje" in result.stderr
    for rid in ROUTINE_IDS:
        assert rid in result.stderr
