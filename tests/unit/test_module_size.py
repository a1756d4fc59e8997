"""No Python module in the repository is longer than 450 lines: a longer one
is split by theme, application code, tests and the test harness alike."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 450
# Not the project's own code: virtual environments, git's folder, what
# setuptools builds, and the migrations Alembic writes (one file a revision).
SKIPPED_FOLDERS = frozenset({".venv", ".git", "__pycache__", "build", "dist"})
SKIPPED_PATHS = frozenset({"cases/migrations/versions"})


def python_files(root: Path) -> list[Path]:
    """Every .py file below ``root``, except in the skipped folders and in
    other checkouts inside it (a folder with a .git of its own: a git
    worktree or a clone)."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(
            name for name in subfolders
            if name not in SKIPPED_FOLDERS
            and (here / name).relative_to(root).as_posix() not in SKIPPED_PATHS
            and not (here / name / ".git").exists())
        found += [here / name for name in sorted(files) if name.endswith(".py")]
    return found


def too_long(root: Path, limit: int = MAX_LINES) -> list[str]:
    """``path: N lines`` for every module over ``limit`` lines, longest first."""
    counted = [(len(path.read_text("utf-8").splitlines()), path) for path in python_files(root)]
    return [f"{path.relative_to(root).as_posix()}: {lines} lines"
            for lines, path in sorted(counted, key=lambda item: -item[0]) if lines > limit]


def test_no_module_is_longer_than_450_lines() -> None:
    seen = python_files(ROOT)
    assert Path(__file__).resolve() in seen and len(seen) > 100  # the walk sees the tree
    offenders = too_long(ROOT)
    assert not offenders, (f"modules over {MAX_LINES} lines (split each by theme):\n  "
                           + "\n  ".join(offenders))
