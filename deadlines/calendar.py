"""The Swedish working-day calendar: Monday to Friday except public holidays
and the de facto days off (midsommarafton, julafton, nyårsafton)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Mail received after this local time counts as received the next day.
OFFICE_CLOSES = time(16, 0)


@lru_cache(maxsize=64)
def _days_off(year: int) -> frozenset[date]:
    import holidays  # 0.13 s to import: paid by what counts days, not by every command

    cal = holidays.country_holidays("SE", years=year, categories=("public", "de_facto"))
    return frozenset(cal.keys())


def warm(today: date) -> None:
    """Read this year's and next year's days off now. The holidays library's
    import is 0.15 s of CPU (py-spy): a long-lived process's first case
    must not pay for it while its transaction holds the row's locks."""
    for year in (today.year, today.year + 1):
        _days_off(year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _days_off(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def receipt_day(received: datetime) -> date:
    """The day a message counts as received: its date in Europe/Stockholm, or
    the next calendar day when it arrived after office hours (16:00)."""
    if received.tzinfo is None:
        raise ValueError("received must be timezone-aware")
    local = received.astimezone(STOCKHOLM)
    day = local.date()
    return day + timedelta(days=1) if local.time() > OFFICE_CLOSES else day


def add_working_days(day: date, n: int) -> date:
    """The n-th working day after ``day`` (n >= 1); ``day`` itself when n == 0
    and it is a working day, else the next working day."""
    if n <= 0:
        return next_working_day(day)
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def add_calendar_days(day: date, n: int) -> date:
    """``day`` plus n calendar days, moved to the next working day when that
    is not one (as lag (1930:173) moves statutory deadlines)."""
    return next_working_day(day + timedelta(days=n))
