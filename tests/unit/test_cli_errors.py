"""Every command's bad input is one Swedish line on stderr and the exit code
README's "Felkoder" documents for its kind (cli/errors.py): no traceback, no
Click English. Most rows run in this process through ``cli.main`` (the real
entry point, its error handler included) against one small register; a few
run the installed ``synpunkt`` in a subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import click
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cases.migrate import upgrade
from cases.models import Case, Deadline
from cli import cli, errors
from tests.cli_runner import Ran, in_process
from tests.support import run_cli

USAGE, DATABASE, MISSING, UNKNOWN, REFUSED = (errors.USAGE, errors.DATABASE,
                                               errors.MISSING_FILE, errors.UNKNOWN_ID,
                                               errors.REFUSED)
ENGLISH = ("Error:", "Usage:", "Traceback", "Invalid value", "is not", "Missing", "No such",
           "Try '", "does not exist", "Got unexpected", "requires an argument")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A register with an open case (1, EKBY 2026/0001) and a closed one (2)."""
    root = tmp_path_factory.mktemp("cli") / "home"
    root.mkdir()
    engine = create_engine(f"sqlite:///{root / 'synpunkt.sqlite3'}")
    upgrade(engine)
    with Session(engine) as session:
        for n, status in ((1, "open"), (2, "closed")):
            at = datetime(2026, 12, n, 9, tzinfo=UTC)
            session.add(Case(diarienummer=f"EKBY 2026/{n:04d}", year=2026, number=n,
                             channel="email", subject=f"Ärende {n}", text="Snön ligger kvar.",
                             category="klagomal", enhet="gata_park", flags=[],
                             routine="soderkoping", received_at=at, registered_at=at,
                             needs_review=False, status=status))
        session.flush()
        session.add(Deadline(case_id=1, kind="aterkoppling", due=date(2026, 12, 31)))
        session.commit()
    engine.dispose()
    return root


@pytest.fixture
def synpunkt(home: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    return in_process(home, monkeypatch, capsys)


BAD = "postgresql+psycopg://synpunkt@127.0.0.1:9/finns_inte"
# (arguments, exit code, a word the line must hold)
ROWS: list[tuple[list[str], int, str]] = [
    (["nope"], USAGE, "okänt kommando 'nope'"),
    (["--bogus", "cases", "list"], USAGE, "okänd flagga --bogus"),
    (["cases", "nope"], USAGE, "okänt kommando"),
    (["cases", "list", "--status", "x"], USAGE, "--status: 'x' finns inte"),
    (["cases", "list", "--enhet", "hemtjanst_mars"], USAGE, "--enhet"),
    (["cases", "list", "--category", "klagomålet"], USAGE, "--category"),
    (["cases", "list", "--flag", "brand"], USAGE, "--flag"),
    (["cases", "list", "--channel", "fax"], USAGE, "--channel"),
    (["cases", "list", "--sort", "snabbast"], USAGE, "--sort"),
    (["cases", "list", "--since", "2026-13-01"], USAGE, "inte ett datum"),
    (["cases", "list", "--until", "igår"], USAGE, "inte ett datum"),
    (["cases", "list", "--since", "2026-12-10", "--until", "2026-12-01"], USAGE, "--since"),
    (["cases", "list", "--page", "0"], USAGE, "minst 1"),
    (["cases", "list", "--page", "två"], USAGE, "inte ett heltal"),
    (["cases", "list", "--per-page", "5000"], USAGE, "högst"),
    (["cases", "list", "--q"], USAGE, "--q behöver ett värde"),
    (["cases", "list", "--overdue=ja"], USAGE, "--overdue tar inget värde"),
    (["cases", "list", "extra"], USAGE, "för många argument"),
    (["cases", "list"], DATABASE, "databasen svarar inte"),
    (["cases", "show"], USAGE, "ID_ELLER_DIARIENUMMER saknas"),
    (["cases", "show", "99"], UNKNOWN, "ärende 99 finns inte"),
    (["cases", "show", "EKBY", "2026/0099"], UNKNOWN, "ärende EKBY 2026/0099 finns inte"),
    (["cases", "show", "Storgatan"], UNKNOWN, "finns inte"),
    (["cases", "feedback", "1"], USAGE, "--note saknas"),
    (["cases", "feedback", "99", "--note", "x"], UNKNOWN, "ärende 99 finns inte"),
    (["cases", "feedback", "EKBY 2026/0001", "--note", "x", "--deadline", "ingen"], REFUSED,
     "ingen"),
    (["cases", "close", "EKBY 2026/0042", "--note", "x"], UNKNOWN, "finns inte"),
    (["cases", "close", "2", "--note", "x"], REFUSED, "avslutat"),
    (["cases", "delay", "99", "--reason", "x"], UNKNOWN, "finns inte"),
    (["cases", "delay", "1"], USAGE, "--reason saknas"),
    (["cases", "assess", "99", "--note", "x"], UNKNOWN, "finns inte"),
    (["cases", "assess", "1"], USAGE, "--note saknas"),
    (["cases", "assess", "1", "--note", "Ingen anmälan behövs."], REFUSED,
     "ingen öppen bedömning"),
    (["cases", "assign", "99", "--to", "a@ekby.example"], UNKNOWN, "finns inte"),
    (["cases", "assign", "1"], USAGE, "--to saknas"),
    (["cases", "register", "--channel", "fax", "--text", "-", "--anonymous"], USAGE,
     "--channel: 'fax' finns inte"),
    (["cases", "register", "--channel", "brev", "--text", "finns_inte.txt", "--anonymous"],
     MISSING, "finns_inte.txt finns inte"),
    (["cases", "register", "--channel", "brev", "--anonymous"], USAGE, "--text saknas"),
    (["inbound", "list", "--status", "läst"], USAGE, "--status"),
    (["inbound", "release", "99"], UNKNOWN, "finns inte"),
    (["inbound", "release", "sju"], USAGE, "inte ett heltal"),
    (["outbox", "list", "--status", "borta"], USAGE, "--status"),
    (["outbox", "resend", "99"], UNKNOWN, "utskick 99 finns inte"),
    (["outbox", "arrived", "99"], UNKNOWN, "utskick 99 finns inte"),
    (["outbox", "arrived"], USAGE, "ID saknas"),
    (["deadlines", "--routine", "sodertalje", "--received", "2026-12-18"], USAGE,
     "'sodertalje' är ingen rutin"),
    (["deadlines", "--routine", "soderkoping", "--received", "18/12"], USAGE,
     "inte ett datum eller en tid"),
    (["deadlines", "--routine", "soderkoping"], USAGE, "--received saknas"),
    (["rules", "check", "--rules", "finns_inte.yaml"], MISSING, "--rules: filen"),
    (["rules", "test"], USAGE, "antingen en DATASET-fil eller --cases"),
    (["rules", "test", "finns_inte.jsonl"], MISSING, "finns inte"),
    (["rules", "test", "--cases", "--limit", "många"], USAGE, "inte ett heltal"),
    (["triage", "finns_inte.txt"], MISSING, "finns_inte.txt finns inte"),
    (["triage"], USAGE, "FIL saknas"),
    (["eval", "finns_inte.jsonl"], MISSING, "finns inte"),
    (["train", "--extra", "finns_inte.jsonl"], MISSING, "--extra: filen"),
    (["users", "add", "a@ekby.example", "--role", "kung", "--password-stdin"], USAGE,
     "--role"),
    (["users", "add", "a@ekby.example", "--role", "chef", "--password-stdin"], USAGE,
     "--enhet"),
    (["users", "add", "a@ekby.example", "--role", "chef", "--enhet", "mars",
      "--password-stdin"], USAGE, "mars"),
    (["users", "list", "--x"], USAGE, "okänd flagga"),
    (["gallra", "--now", "nästa år"], USAGE, "inte ett datum eller en tid"),
    (["registerutdrag", "inte-en-adress", "--out", "x.zip"], USAGE, "varken"),
    (["registerutdrag", "a@example.se", "--out", "/finns/inte/x.zip"], MISSING,
     "katalogen /finns/inte finns inte"),
    (["health", "--forget", "zzzz"], UNKNOWN, "pekar ut 0 processer"),
    (["worker", "--threads", "många"], USAGE, "inte ett heltal"),
    (["web", "--port", "http"], USAGE, "inte ett heltal"),
    (["db", "nope"], USAGE, "okänt kommando"),
    (["db", "upgrade"], DATABASE, "databasen svarar inte"),
    (["run", "--forever"], USAGE, "okänd flagga --forever"),
    (["demo", "extra"], USAGE, "för många argument"),
    (["listener", "--imap"], USAGE, "okänd flagga"),
    (["scheduler", "x"], USAGE, "för många argument"),
]
def _id(row: tuple[list[str], int, str]) -> str:
    return " ".join(row[0])


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_bad_input_is_one_swedish_line(synpunkt: Callable[..., Ran],
                                       row: tuple[list[str], int, str]) -> None:
    args, code, says = row
    env = {"SYNPUNKT_DATABASE_URL": BAD} if code == DATABASE else {}
    ran = synpunkt(*args, **env)
    assert ran.code == code, ran
    _one_swedish_line(ran.err, says)


def _one_swedish_line(err: str, says: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert lines[0].startswith("synpunkt: "), err
    assert says in lines[0], err
    for english in ENGLISH:
        assert english not in lines[0], err


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command under ``group``, those imported on demand (cli.COMMANDS) too."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from _leaves(command, (*path, name))
        else:
            yield (*path, name)


def test_every_command_has_a_bad_input_row() -> None:
    named = [tuple(a for a in args if not a.startswith("-")) for args, _, _ in ROWS]
    missing = [" ".join(c) for c in _leaves(cli) if not any(n[:len(c)] == c for n in named)]
    assert missing == []


def test_every_exit_code_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    for code in (errors.REFUSED, USAGE, DATABASE, MISSING, UNKNOWN, errors.UNEXPECTED,
                 errors.ABORTED):
        assert f"| {code} |" in readme, code


def test_an_unexpected_error_is_one_line_and_its_own_code(
        synpunkt: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch) -> None:
    import cli.case_list

    def broken(*_args: object) -> object:
        raise RuntimeError("något i koden")

    monkeypatch.setattr(cli.case_list, "search", broken)
    ran = synpunkt("cases", "list")
    assert ran.code == errors.UNEXPECTED
    _one_swedish_line(ran.err, "oväntat fel (RuntimeError)")
    assert "något i koden" not in ran.err  # a message may hold what a citizen wrote


def test_a_bad_configuration_keeps_exit_2(synpunkt: Callable[..., Ran], tmp_path: Path) -> None:
    ran = synpunkt("cases", "list", SYNPUNKT_CONFIG=str(tmp_path / "nej"))
    assert ran.code == USAGE
    _one_swedish_line(ran.err, "fel i konfigurationen")


# --- the installed command, in a subprocess ------------------------------------------


@pytest.mark.parametrize(("args", "code", "says"), [
    (["triage", "nope.txt"], MISSING, "filen nope.txt finns inte"),
    (["cases", "show", "EKBY 2026/0099"], UNKNOWN, "ärende EKBY 2026/0099 finns inte"),
])
def test_the_installed_command(home: Path, args: list[str], code: int, says: str) -> None:
    done = run_cli(*args, home=home, check=False)
    assert done.returncode == code, done.stderr
    _one_swedish_line(done.stderr, says)
    assert done.stdout == ""


def test_every_help_is_swedish(synpunkt: Callable[..., Ran]) -> None:
    for command in [(), *_leaves(cli)]:
        ran = synpunkt(*command, "--help")
        assert ran.code == 0, (command, ran.err)
        assert ran.out.startswith("Användning: synpunkt"), ran.out
        for english in ("Usage:", "Options:", "Commands:", "Show this message", "[default:",
                        "[required]", "[OPTIONS]"):
            assert english not in ran.out, (command, english)
