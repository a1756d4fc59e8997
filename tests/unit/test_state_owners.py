"""Each state machine has one owner: the status of an inbound row, a case and
an outbox row is written in one module each, never by a web handler, an actor
or a command. The check reads the source, so a new writer anywhere fails it."""

from __future__ import annotations

import ast
from pathlib import Path

from config.layers import PACKAGES

ROOT = Path(__file__).resolve().parents[2]

# The module that writes each status, and the enum its values come from.
OWNERS = {
    "cases/inbound.py": "InboundStatus",
    "cases/lifecycle.py": "CaseStatus",
    "notify/attempt.py": "OutboxStatus",
}
ENUMS = {"InboundStatus", "CaseStatus", "OutboxStatus"}


def _enums_in(node: ast.AST) -> set[str]:
    return {n.value.id for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id in ENUMS}


def status_writes(source: str) -> list[tuple[int, set[str]]]:
    """Every place a ``status`` is written: attribute assignment (also in a
    tuple), ``.values(status=...)`` in an UPDATE or INSERT, or a model made with
    ``status=``; each with the status enums its value names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                if any(isinstance(e, ast.Attribute) and e.attr == "status" for e in elements):
                    found.append((node.lineno, _enums_in(node.value) if node.value else set()))
        elif isinstance(node, ast.Call):
            func = node.func
            named = (func.attr if isinstance(func, ast.Attribute)
                     else func.id if isinstance(func, ast.Name) else "")
            if named in ("values", "Inbound", "Case", "Outbox"):
                found += [(node.lineno, _enums_in(k.value)) for k in node.keywords
                          if k.arg == "status"]
    return sorted(found, key=lambda f: f[0])


def test_every_status_is_written_by_its_owner() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            for line, enums in status_writes(path.read_text("utf-8")):
                owner = OWNERS.get(name)
                if owner is None or enums - {owner}:
                    wrong.append(f"{name}:{line} writes a status ({', '.join(enums) or '?'})")
    assert wrong == []


def test_the_check_sees_each_way_of_writing() -> None:
    source = ("row.status = InboundStatus.IGNORED\n"
              "row.status, row.reason = OutboxStatus.SENT, None\n"
              "session.execute(update(Outbox).values(status=OutboxStatus.SENDING))\n"
              "Case(status=CaseStatus.OPEN)\n"
              "status = CaseStatus.OPEN\n")
    assert status_writes(source) == [(1, {"InboundStatus"}), (2, {"OutboxStatus"}),
                                     (3, {"OutboxStatus"}), (4, {"CaseStatus"})]
