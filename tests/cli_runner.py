"""``synpunkt`` in this process: the real entry point (``cli.main``, its
Swedish error lines and exit codes included) without starting a Python, for
the command-line tests that need no subprocess (tests/support.py's
``run_cli`` runs the installed command)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli import main


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def in_process(home: Path, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """A function running ``synpunkt ARGS`` with SYNPUNKT_HOME=home and only
    the SYNPUNKT_ variables given as keywords; standard in is empty."""

    def run(*args: str, **env: str) -> Ran:
        for name in [k for k in os.environ if k.startswith("SYNPUNKT_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("SYNPUNKT_HOME", str(home))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "argv", ["synpunkt", *args])
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run
