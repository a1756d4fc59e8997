"""The command line's parameter types, with their errors in Swedish: a
whole number, a choice, a file that must exist (exit 4 when it does not),
a date, and a time given as a date or a date and time (Swedish time when no
zone is given)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import click

from cli.errors import MissingFileError, os_reason
from deadlines.calendar import STOCKHOLM

EXAMPLE_TIME = "t.ex. 2026-12-18 eller 2026-12-18T15:30"


class Whole(click.ParamType[int]):
    """A whole number, at least ``low``."""

    name = "heltal"

    def __init__(self, low: int | None = None) -> None:
        self.low = low

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} är inte ett heltal", param, ctx)
        if self.low is not None and number < self.low:
            self.fail(f"{number} är för litet (minst {self.low})", param, ctx)
        return number


class OneOf(click.Choice[str]):
    """click.Choice, saying in Swedish what the choices are."""

    def __init__(self, choices: Sequence[str]) -> None:
        super().__init__(list(choices))

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return f"{value!r} finns inte; välj bland {', '.join(map(str, self.choices))}"


class InputFile(click.ParamType[Path]):
    """A file to read, or ``-`` for standard in when ``dash`` is allowed. A
    missing or unreadable file is exit 4 (cli/errors.py), not a usage error."""

    name = "fil"

    def __init__(self, dash: bool = False) -> None:
        self.dash = dash

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Path:
        path = Path(value)
        if self.dash and str(value) == "-":
            return path
        where = f"{param.opts[0]}: " if isinstance(param, click.Option) else ""
        if not path.exists():
            raise MissingFileError(f"{where}filen {value} finns inte")
        if path.is_dir():
            raise MissingFileError(f"{where}{value} är en katalog, inte en fil")
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise MissingFileError(f"{where}filen {value} kan inte läsas: "
                                   f"{os_reason(exc)}") from None
        return path


class Moment(click.ParamType[datetime]):
    """A point in time: a date (midnight) or a date and a time, ISO 8601, with
    or without a zone; without one it is Swedish time. Always timezone-aware."""

    name = "tid"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            found = value
        else:
            text = str(value).strip()
            try:
                found = datetime.fromisoformat(text)
            except ValueError:
                self.fail(f"{text!r} är inte ett datum eller en tid ({EXAMPLE_TIME})",
                          param, ctx)
        return found if found.tzinfo is not None else found.replace(tzinfo=STOCKHOLM)


class Day(click.ParamType[date]):
    """A calendar day (2026-12-18); a date and time is taken as its day in
    Swedish time."""

    name = "datum"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} är inte ett datum (t.ex. 2026-12-18)", param, ctx)
        if moment.tzinfo is None:
            return moment.date()
        return moment.astimezone(STOCKHOLM).date()


def day_start(day: date) -> datetime:
    """Midnight Swedish time at the start of ``day``."""
    return datetime.combine(day, time(), STOCKHOLM)
