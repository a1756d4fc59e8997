"""The imports run one way, down: no module imports from a layer above its
own or from another package on its layer (config/layers.py)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from config.layers import LAYERS, PACKAGES, layer_of

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """Every project package a module imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found |= {n.split(".")[0] for n in names} & set(PACKAGES)
    return found


def upward_imports() -> list[str]:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in _imports(path) - {package}:
                if layer_of(imported) >= layer_of(package):
                    wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    return wrong


def test_every_package_has_its_layer() -> None:
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert on_disk == set(PACKAGES)
    assert len(PACKAGES) == len(set(PACKAGES)) == sum(len(layer) for layer in LAYERS)


def test_pyproject_installs_and_checks_every_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert set(pyproject["tool"]["mypy"]["files"]) == set(PACKAGES)
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.removesuffix("*") for p in include} == set(PACKAGES)


def test_imports_run_down() -> None:
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom notify.outbox import x\n\ndef f():\n    import cli.run\n")
    assert _imports(module) == {"notify", "cli"}
