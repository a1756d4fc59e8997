"""The command line imports a command's module when that command runs
(``cli.COMMANDS``): every command is there under its own name, and one
command does not pay for the others' imports."""

from __future__ import annotations

import subprocess
import sys

import click

from cli import COMMANDS, cli


def test_every_command_is_found_under_its_own_name() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name


def _loaded_by(command: str) -> set[str]:
    """The modules of interest in a fresh Python after ``command``'s module is loaded."""
    probe = ("import sys, click, cli\n"
             f"cli.cli.get_command(click.Context(cli.cli), {command!r})\n"
             "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('cli', 'classify', 'numpy', 'alembic', 'spacy', 'sklearn'))))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.split())


def test_one_command_imports_only_its_own_module() -> None:
    """`synpunkt health` (a monitor runs it every minute) loads neither the
    classifier's training code nor the other commands' modules."""
    loaded = _loaded_by("health")
    assert "cli.production" in loaded
    assert not loaded & {"cli.run", "cli.classify", "cli.cases", "cli.web", "numpy", "spacy"}


def test_run_and_rules_do_not_load_the_training_tools() -> None:
    """An embedded `synpunkt run --once` from cron every minute asks only
    whether the model is current (classify.recipe), and `rules check`
    turns corpus examples into messages: neither loads numpy, spaCy or the
    training code at start (0.2–0.3 s of CPU a run, benchmarks/command_cpu.py)."""
    for command in ("run", "rules"):
        loaded = _loaded_by(command)
        assert f"cli.{command}" in loaded, command
        assert not loaded & {"classify.train", "classify.linear", "classify.model", "numpy",
                             "spacy", "sklearn", "alembic"}, (command, loaded)
