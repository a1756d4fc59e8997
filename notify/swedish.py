"""Dates and names written the Swedish way, without depending on the system locale."""

from __future__ import annotations

from datetime import UTC, date, datetime

from deadlines.calendar import STOCKHOLM

# How a time a person reads is said to be Swedish time (Europe/Stockholm), once.
ZONE_WORD = "svensk tid"

_WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december")


def long_date(day: date) -> str:
    """'måndag 18 januari 2027'"""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def local_time(moment: datetime) -> str:
    """'5 december 2026 kl. 09.30': the moment in Swedish time (Europe/Stockholm,
    summer time included); a naive moment is taken as UTC."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(STOCKHOLM)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} kl. {local:%H.%M}"


def first_name(display_name: str | None) -> str | None:
    """The first name to greet with, or None when the name does not look like one."""
    if not display_name or "@" in display_name or "," in display_name:
        return None
    word = display_name.split()[0].strip("\"'")
    return word if word.isalpha() and len(word) <= 40 else None


def day_and_month(day: date) -> str:
    """'30 november' (the year only when it is not obvious is left to the reader)."""
    return f"{day.day} {_MONTHS[day.month - 1]}"
