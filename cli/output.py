"""Printing for people (aligned tables) and for scripts (JSON lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import click

from deadlines.calendar import STOCKHOLM

# Every time a person reads is Swedish time, and each output says so once.
ZONE = "svensk tid"


def when(value: datetime | None, seconds: bool = False) -> str:
    """A time as a person reads it: Europe/Stockholm, without the zone's name
    (the output names it once, as ZONE)."""
    if value is None:
        return "–"
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S" if seconds
                                                else "%Y-%m-%d %H:%M")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=_default))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int] = ()) -> str:
    """A plain aligned table; cells longer than their column's width end in '…'."""
    cells = [[_cell(v) for v in row] for row in rows]
    cols = len(headers)
    width = [len(h) for h in headers]
    for row in cells:
        for i in range(cols):
            width[i] = max(width[i], len(row[i]))
    for i, cap in enumerate(widths):
        if cap:
            width[i] = min(width[i], cap)

    def fmt(row: Sequence[str]) -> str:
        out = []
        for i in range(cols):
            text = row[i] if len(row[i]) <= width[i] else row[i][: width[i] - 1] + "…"
            out.append(text.ljust(width[i]))
        return "  ".join(out).rstrip()

    lines = [fmt(list(headers)), "  ".join("─" * w for w in width)]
    lines.extend(fmt(row) for row in cells)
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(str(v) for v in value) or "–"
    return " ".join(str(value).split())
