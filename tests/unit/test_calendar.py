"""The Swedish working-day calendar and the deadlines a routine gives a case.

Every expected date below was worked out by hand from a real calendar; the
comment on each case says how. Weekday anchors used throughout:

    2025: 1 Jun Sun, 1 Dec Mon          2026: 1 Jan Thu, 1 Mar Sun, 1 Apr Wed,
    2026: 1 May Fri, 1 Jun Mon, 1 Oct Thu, 1 Dec Tue
    2027: 1 Jan Fri, 1 Mar Mon, 1 May Sat, 1 Jun Tue    2028: 6 Jun Tue

Påsk 2026 is 5 April, påsk 2027 is 28 March, påsk 2028 is 16 April. Summer
time 2026 starts Sun 29 March 01:00 UTC and ends Sun 25 October 01:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from config.kommun import load_kommun
from config.routines import Rutin
from config.settings import SHIPPED_CONFIG
from deadlines.calendar import (
    STOCKHOLM,
    add_calendar_days,
    add_working_days,
    is_working_day,
    next_working_day,
    receipt_day,
)
from deadlines.routine import deadlines_for

D = date


def utc(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


# --- is_working_day -----------------------------------------------------------

WORKING_DAY_CASES = [
    # (day, working?, reasoning)
    (D(2026, 4, 2), True, "skärtorsdag 2026 (Thu) is an ordinary working day"),
    (D(2026, 4, 3), False, "långfredag 2026: Fri 3 April"),
    (D(2026, 4, 6), False, "annandag påsk 2026: Mon 6 April"),
    (D(2026, 4, 7), True, "Tue after påsk 2026"),
    (D(2027, 3, 25), True, "skärtorsdag 2027 (Thu)"),
    (D(2027, 3, 26), False, "2027: långfredag 26/3"),
    (D(2027, 3, 29), False, "2027: annandag påsk 29/3"),
    (D(2027, 3, 30), True, "Tue after påsk 2027"),
    (D(2026, 5, 1), False, "1 maj 2026 is a Friday"),
    (D(2026, 5, 14), False, "Kristi himmelfärd 2026: påsk 5/4 + 39 = Thu 14 May"),
    (D(2026, 5, 15), True, "klämdag after Kristi himmelfärd is not a day off"),
    (D(2027, 5, 6), False, "Kristi himmelfärd 2027: påsk 28/3 + 39 = Thu 6 May"),
    (D(2026, 5, 25), True, "annandag pingst 2026 (Mon) is no holiday since 2005"),
    (D(2028, 6, 5), True, "annandag pingst 2028 (pingst Sun 4 June) is a working day"),
    (D(2025, 6, 6), False, "nationaldagen 2025 is a Friday"),
    (D(2028, 6, 6), False, "nationaldagen 2028 is a Tuesday"),
    (D(2026, 6, 18), True, "Thu before midsommarafton 2026"),
    (D(2026, 6, 19), False, "midsommarafton 2026: Fri 19 June"),
    (D(2026, 6, 22), True, "Mon after midsommar 2026"),
    (D(2027, 6, 24), True, "Thu before midsommarafton 2027"),
    (D(2027, 6, 25), False, "midsommarafton 2027: Fri 25 June (Fridays 19-25 June)"),
    (D(2025, 12, 26), False, "annandag jul 2025 is a Friday"),
    (D(2026, 1, 6), False, "trettondedag jul 2026 is a Tuesday"),
    (D(2026, 1, 7), True, "Wed after trettondedag 2026"),
    (D(2026, 12, 23), True, "Wed before julafton 2026"),
    (D(2026, 12, 24), False, "julafton 2026 (Thu), de facto day off"),
    (D(2026, 12, 25), False, "juldagen 2026 (Fri)"),
    (D(2026, 12, 28), True, "Mon between jul and nyår 2026"),
    (D(2026, 12, 30), True, "Wed before nyårsafton 2026"),
    (D(2026, 12, 31), False, "nyårsafton 2026 (Thu), de facto day off"),
    (D(2027, 1, 1), False, "nyårsdagen 2027 (Fri)"),
    (D(2027, 1, 4), True, "first working day of 2027 (Mon)"),
    (D(2027, 1, 6), False, "trettondedag jul 2027 is a Wednesday"),
    (D(2027, 1, 7), True, "Thu after trettondedag 2027"),
    (D(2026, 3, 7), False, "an ordinary Saturday"),
    (D(2026, 3, 8), False, "an ordinary Sunday"),
    (D(2026, 3, 9), True, "an ordinary Monday"),
]


@pytest.mark.parametrize(
    ("day", "expected"),
    [(d, e) for d, e, _ in WORKING_DAY_CASES],
    ids=[f"{d}-{why}" for d, _, why in WORKING_DAY_CASES],
)
def test_is_working_day(day: date, expected: bool) -> None:
    assert is_working_day(day) is expected


# Days off on a weekday, written out by hand: an oracle independent of the
# holidays package.
HAND_DAYS_OFF = {
    # 2026: nyårsdagen Thu, trettondedag Tue, långfredag, annandag påsk, 1 maj Fri,
    # Kristi himmelfärd Thu, midsommarafton, julafton Thu, juldagen Fri, nyårsafton Thu.
    # (Nationaldagen Sat, midsommardagen Sat, alla helgons dag 31/10 Sat, annandag jul Sat.)
    D(2026, 1, 1), D(2026, 1, 6), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 1),
    D(2026, 5, 14), D(2026, 6, 19), D(2026, 12, 24), D(2026, 12, 25), D(2026, 12, 31),
    # 2027: nyårsdagen Fri, trettondedag Wed, långfredag 26/3, annandag påsk 29/3,
    # Kristi himmelfärd 6/5, midsommarafton 25/6, julafton Fri, nyårsafton Fri.
    # (1 maj Sat, nationaldagen Sun, midsommardagen Sat, alla helgons dag 6/11 Sat,
    # juldagen Sat, annandag jul Sun.)
    D(2027, 1, 1), D(2027, 1, 6), D(2027, 3, 26), D(2027, 3, 29), D(2027, 5, 6),
    D(2027, 6, 25), D(2027, 12, 24), D(2027, 12, 31),
}


def test_every_day_of_2026_and_2027_matches_the_hand_written_calendar() -> None:
    day = D(2026, 1, 1)
    wrong = []
    while day.year < 2028:
        expected = day.weekday() < 5 and day not in HAND_DAYS_OFF
        if is_working_day(day) is not expected:
            wrong.append(day)
        day += timedelta(days=1)
    assert wrong == []


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 3, 9), D(2026, 3, 9)),  # Mon, a working day: itself
        (D(2026, 3, 7), D(2026, 3, 9)),  # Sat -> Mon
        (D(2026, 12, 24), D(2026, 12, 28)),  # julafton Thu, juldagen Fri, weekend -> Mon 28
        (D(2026, 12, 31), D(2027, 1, 4)),  # nyårsafton Thu, nyårsdagen Fri, weekend -> Mon 4
        (D(2027, 3, 26), D(2027, 3, 30)),  # långfredag, weekend, annandag påsk -> Tue 30/3
    ],
)
def test_next_working_day(day: date, expected: date) -> None:
    assert next_working_day(day) == expected


# --- add_working_days ------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        # påsk 2026: Thu 2/4 +1: Fri 3/4 långfredag, weekend, Mon 6/4 annandag -> Tue 7/4
        (D(2026, 4, 2), 1, D(2026, 4, 7)),
        # påsk 2027: Wed 24/3 +2: Thu 25/3 (1), Fri 26/3 off, weekend, Mon 29/3 off, Tue 30/3 (2)
        (D(2027, 3, 24), 2, D(2027, 3, 30)),
        # midsommar 2026: Thu 18/6 +1: Fri 19/6 midsommarafton, weekend -> Mon 22/6
        (D(2026, 6, 18), 1, D(2026, 6, 22)),
        # midsommar 2027: Wed 23/6 +2: Thu 24/6 (1), Fri 25/6 off, weekend, Mon 28/6 (2)
        (D(2027, 6, 23), 2, D(2027, 6, 28)),
        # jul 2026: Wed 23/12 +1: Thu 24 julafton, Fri 25 juldagen, Sat 26, Sun 27 -> Mon 28
        (D(2026, 12, 23), 1, D(2026, 12, 28)),
        # Wed 23/12 +3: Mon 28 (1), Tue 29 (2), Wed 30 (3)
        (D(2026, 12, 23), 3, D(2026, 12, 30)),
        # Wed 23/12 +4: ... Wed 30 (3), Thu 31 nyårsafton, Fri 1/1 nyårsdagen, weekend, Mon 4/1
        (D(2026, 12, 23), 4, D(2027, 1, 4)),
        # from a day off: Sat 26/12 (annandag jul) +1 -> Mon 28/12
        (D(2026, 12, 26), 1, D(2026, 12, 28)),
        # trettondedag jul 2026: Mon 5/1 +1: Tue 6/1 off -> Wed 7/1
        (D(2026, 1, 5), 1, D(2026, 1, 7)),
        # trettondedag jul 2027: Tue 5/1 +1: Wed 6/1 off -> Thu 7/1
        (D(2027, 1, 5), 1, D(2027, 1, 7)),
        # Kristi himmelfärd 2026: Wed 13/5 +1: Thu 14/5 off -> Fri 15/5
        (D(2026, 5, 13), 1, D(2026, 5, 15)),
        # Kristi himmelfärd 2027: Wed 5/5 +1: Thu 6/5 off -> Fri 7/5
        (D(2027, 5, 5), 1, D(2027, 5, 7)),
        # 1 maj 2026: Thu 30/4 +1: Fri 1/5 off, weekend -> Mon 4/5
        (D(2026, 4, 30), 1, D(2026, 5, 4)),
        # nationaldagen 2025: Thu 5/6 +1: Fri 6/6 off, weekend -> Mon 9/6
        (D(2025, 6, 5), 1, D(2025, 6, 9)),
        # nationaldagen 2028: Mon 5/6 (annandag pingst, working) +1: Tue 6/6 off -> Wed 7/6
        (D(2028, 6, 5), 1, D(2028, 6, 7)),
        # an ordinary week: Mon 9/3/2026 +5 -> Mon 16/3
        (D(2026, 3, 9), 5, D(2026, 3, 16)),
    ],
)
def test_add_working_days(day: date, n: int, expected: date) -> None:
    assert add_working_days(day, n) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 3, 9), D(2026, 3, 9)),  # n=0 on a working day (Mon): the day itself
        (D(2026, 12, 24), D(2026, 12, 28)),  # n=0 on julafton: next working day Mon 28/12
        (D(2027, 1, 6), D(2027, 1, 7)),  # n=0 on trettondedag (Wed): Thu 7/1
        (D(2026, 3, 7), D(2026, 3, 9)),  # n=0 on a Saturday: Mon
    ],
)
def test_add_working_days_zero(day: date, expected: date) -> None:
    assert add_working_days(day, 0) == expected


def test_add_working_days_property_over_400_days() -> None:
    start = D(2026, 1, 1)
    for offset in range(400):
        d = start + timedelta(days=offset)
        result = add_working_days(d, 5)
        assert result > d, d
        assert is_working_day(result), d
        between = [d + timedelta(days=i) for i in range(1, (result - d).days + 1)]
        assert sum(1 for x in between if is_working_day(x)) == 5, d
        # Even across jul and nyår (23/12/2026 -> 5/1/2027: 13 days) five
        # working days fit in two weeks.
        assert (result - d).days <= 14, d


# --- add_calendar_days -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        # Mon 2/3/2026 + 30 = Wed 1/4, a working day
        (D(2026, 3, 2), 30, D(2026, 4, 1)),
        # Wed 4/3/2026 + 3 = Sat 7/3 -> Mon 9/3
        (D(2026, 3, 4), 3, D(2026, 3, 9)),
        # Fri 18/12/2026 + 6 = Thu 24/12 julafton -> juldagen, weekend -> Mon 28/12
        (D(2026, 12, 18), 6, D(2026, 12, 28)),
        # Thu 17/12/2026 + 14 = Thu 31/12 nyårsafton -> nyårsdagen, weekend -> Mon 4/1/2027
        (D(2026, 12, 17), 14, D(2027, 1, 4)),
        # Fri 20/3/2026 + 14 = Fri 3/4 långfredag -> weekend, annandag påsk -> Tue 7/4
        (D(2026, 3, 20), 14, D(2026, 4, 7)),
        # Fri 5/6/2026 + 14 = Fri 19/6 midsommarafton -> Mon 22/6
        (D(2026, 6, 5), 14, D(2026, 6, 22)),
        # Tue 22/12/2026 + 0 = a working day: itself
        (D(2026, 12, 22), 0, D(2026, 12, 22)),
        # julafton + 0 -> Mon 28/12
        (D(2026, 12, 24), 0, D(2026, 12, 28)),
    ],
)
def test_add_calendar_days(day: date, n: int, expected: date) -> None:
    assert add_calendar_days(day, n) == expected


# --- receipt_day: the 16:00 rule ---------------------------------------------------


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # Winter, CET = UTC+1: Wed 14 January 2026
        (utc(2026, 1, 14, 14, 59), D(2026, 1, 14)),  # 15:59 local
        (utc(2026, 1, 14, 15, 0), D(2026, 1, 14)),  # 16:00 local: not after 16:00
        (utc(2026, 1, 14, 15, 0, 1), D(2026, 1, 15)),  # 16:00:01 local
        (utc(2026, 1, 14, 15, 1), D(2026, 1, 15)),  # 16:01 local
        (utc(2026, 1, 14, 22, 59), D(2026, 1, 15)),  # 23:59 local on the 14th -> 15/1
        (utc(2026, 1, 14, 23, 30), D(2026, 1, 15)),  # 00:30 local on the 15th (UTC date 14th)
        # Summer, CEST = UTC+2: Wed 15 July 2026
        (utc(2026, 7, 15, 13, 59), D(2026, 7, 15)),  # 15:59 local
        (utc(2026, 7, 15, 14, 0), D(2026, 7, 15)),  # 16:00 local
        (utc(2026, 7, 15, 14, 1), D(2026, 7, 16)),  # 16:01 local
        (utc(2026, 7, 14, 22, 30), D(2026, 7, 15)),  # 00:30 local on the 15th
    ],
)
def test_receipt_day_office_hours(received: datetime, expected: date) -> None:
    assert receipt_day(received) == expected


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # Spring forward, Sun 29/3/2026 01:00 UTC (02:00 CET -> 03:00 CEST)
        (utc(2026, 3, 28, 15, 1), D(2026, 3, 29)),  # Sat 16:01 CET -> Sun
        (utc(2026, 3, 28, 23, 30), D(2026, 3, 29)),  # 00:30 CET on Sun 29/3
        (utc(2026, 3, 29, 0, 59), D(2026, 3, 29)),  # 01:59 CET, just before the change
        (utc(2026, 3, 29, 1, 0), D(2026, 3, 29)),  # 03:00 CEST, just after the change
        (utc(2026, 3, 29, 14, 0), D(2026, 3, 29)),  # 16:00 CEST
        (utc(2026, 3, 29, 14, 1), D(2026, 3, 30)),  # 16:01 CEST (would be 15:01 in CET)
        # Fall back, Sun 25/10/2026 01:00 UTC (03:00 CEST -> 02:00 CET)
        (utc(2026, 10, 24, 14, 1), D(2026, 10, 25)),  # Sat 16:01 CEST -> Sun
        (utc(2026, 10, 24, 22, 30), D(2026, 10, 25)),  # 00:30 CEST on Sun 25/10
        (utc(2026, 10, 25, 0, 30), D(2026, 10, 25)),  # 02:30 CEST (first 02:30)
        (utc(2026, 10, 25, 1, 30), D(2026, 10, 25)),  # 02:30 CET (second 02:30)
        (utc(2026, 10, 25, 14, 30), D(2026, 10, 25)),  # 15:30 CET (would be 16:30 in CEST)
        (utc(2026, 10, 25, 15, 0), D(2026, 10, 25)),  # 16:00 CET
        (utc(2026, 10, 25, 15, 1), D(2026, 10, 26)),  # 16:01 CET
    ],
)
def test_receipt_day_across_dst_changes(received: datetime, expected: date) -> None:
    assert receipt_day(received) == expected


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # Already in Stockholm time: 16:01 CET -> next day
        (datetime(2026, 1, 14, 16, 1, tzinfo=STOCKHOLM), D(2026, 1, 15)),
        (datetime(2026, 1, 14, 16, 0, tzinfo=STOCKHOLM), D(2026, 1, 14)),
        # 10:30 at UTC-5 = 15:30 UTC = 16:30 CET -> next day
        (datetime(2026, 1, 14, 10, 30, tzinfo=timezone(timedelta(hours=-5))), D(2026, 1, 15)),
        # 08:00 at UTC+9 on 15/1 = 23:00 UTC on 14/1 = 00:00 CET on 15/1
        (datetime(2026, 1, 15, 8, 0, tzinfo=timezone(timedelta(hours=9))), D(2026, 1, 15)),
    ],
)
def test_receipt_day_other_time_zones(received: datetime, expected: date) -> None:
    assert receipt_day(received) == expected


def test_receipt_day_naive_datetime_raises() -> None:
    with pytest.raises(ValueError, match="timezone"):
        receipt_day(datetime(2026, 1, 14, 12, 0))


# --- deadlines_for: the six routine profiles -------------------------------------

ROUTINES = load_kommun(SHIPPED_CONFIG).routines


def test_shipped_routines_are_the_six_profiles() -> None:
    assert set(ROUTINES.profiler) == {
        "soderkoping", "nacka_socialpsykiatri", "hasselby_vallingby",
        "hasselby_stadsmiljo", "essunga", "socialnamnden_2005",
    }


@pytest.mark.parametrize(
    ("routine_id", "received", "has_contact", "expected"),
    [
        # soderkoping, 30 dagar: Wed 4/3/2026 10:00 CET; 4/3 + 30 = Fri 3/4 långfredag
        # -> weekend, annandag påsk 6/4 -> Tue 7/4
        ("soderkoping", utc(2026, 3, 4, 9, 0), True, [("aterkoppling", D(2026, 4, 7))]),
        # soderkoping without contact details: endast_med_kontaktuppgifter -> no deadline
        ("soderkoping", utc(2026, 3, 4, 9, 0), False, []),
        # nacka, 5 and 10 arbetsdagar: Fri 18/12/2026 15:30 CET (before 16) -> receipt Fri 18/12.
        # 21 (1), 22 (2), 23 (3), 24-27 off, 28 (4), 29 (5); 30 (6), 31 + 1/1 off,
        # 4/1 (7), 5/1 (8), 6/1 trettondedag off, 7/1 (9), 8/1 (10)
        ("nacka_socialpsykiatri", utc(2026, 12, 18, 14, 30), True,
         [("forsta_aterkoppling", D(2026, 12, 29)), ("slutlig_aterkoppling", D(2027, 1, 8))]),
        # nacka, no contact: the first återkoppling is a promise to the sender
        # (endast_med_kontaktuppgifter); the 10-day handling goal still runs (001:61)
        ("nacka_socialpsykiatri", utc(2026, 12, 18, 14, 30), False,
         [("slutlig_aterkoppling", D(2027, 1, 8))]),
        # nacka, Thu 17/12/2026 15:59 CET -> receipt Thu 17/12: 18 (1), 21 (2), 22 (3),
        # 23 (4), 28 (5); 29 (6), 30 (7), 4/1 (8), 5/1 (9), 7/1 (10)
        ("nacka_socialpsykiatri", utc(2026, 12, 17, 14, 59), True,
         [("forsta_aterkoppling", D(2026, 12, 28)), ("slutlig_aterkoppling", D(2027, 1, 7))]),
        # nacka, Thu 17/12/2026 16:01 CET -> receipt Fri 18/12 -> as received on the 18th
        ("nacka_socialpsykiatri", utc(2026, 12, 17, 15, 1), True,
         [("forsta_aterkoppling", D(2026, 12, 29)), ("slutlig_aterkoppling", D(2027, 1, 8))]),
        # hasselby_vallingby, 14 dagar: Fri 5/6/2026 12:00 CEST; 5/6 + 14 = Fri 19/6
        # midsommarafton -> midsommardagen Sat, Sun -> Mon 22/6
        ("hasselby_vallingby", utc(2026, 6, 5, 10, 0), True, [("utredning", D(2026, 6, 22))]),
        # hasselby_stadsmiljo, 3 and 10 dagar: Mon 21/12/2026 09:00 CET;
        # 21 + 3 = Thu 24/12 julafton -> Mon 28/12; 21 + 10 = Thu 31/12 nyårsafton -> Mon 4/1
        ("hasselby_stadsmiljo", utc(2026, 12, 21, 8, 0), True,
         [("aterkoppling", D(2026, 12, 28)), ("slutlig_aterkoppling", D(2027, 1, 4))]),
        # essunga, 5 arbetsdagar: Mon 22/3/2027 16:30 CET (after 16) -> receipt Tue 23/3.
        # Wed 24 (1), Thu 25 (2), Fri 26 långfredag, weekend, Mon 29 annandag påsk,
        # Tue 30 (3), Wed 31 (4), Thu 1/4 (5)
        ("essunga", utc(2027, 3, 22, 15, 30), True, [("bekraftelse", D(2027, 4, 1))]),
        # socialnamnden_2005, 10 dagar: Tue 21/4/2026 15:00 CEST; 21/4 + 10 = Fri 1/5
        # (1 maj) -> weekend -> Mon 4/5
        ("socialnamnden_2005", utc(2026, 4, 21, 13, 0), True, [("besked", D(2026, 5, 4))]),
        # essunga over Kristi himmelsfärd: Mon 11/5/2026 10:00 CEST; 12 (1), 13 (2),
        # Thu 14 off, Fri 15 (3, a klämdag is a working day), 18 (4), 19 (5)
        ("essunga", utc(2026, 5, 11, 8, 0), True, [("bekraftelse", D(2026, 5, 19))]),
        # socialnamnden_2005 onto a weekend before nationaldagen: Wed 26/5/2027 + 10 =
        # Sat 5/6, Sun 6/6 nationaldagen -> Mon 7/6
        ("socialnamnden_2005", utc(2027, 5, 26, 7, 0), True, [("besked", D(2027, 6, 7))]),
        # hasselby_vallingby received on a Saturday: Sat 23/5/2026 counts as that day;
        # + 14 = Sat 6/6 nationaldagen -> Mon 8/6
        ("hasselby_vallingby", utc(2026, 5, 23, 9, 0), True, [("utredning", D(2026, 6, 8))]),
        # nacka over alla helgons dag: Fri 30/10/2026 16:30 CET -> receipt Sat 31/10;
        # 2/11 (1) .. 6/11 (5); 9 (6) .. 13 (10)
        ("nacka_socialpsykiatri", utc(2026, 10, 30, 15, 30), True,
         [("forsta_aterkoppling", D(2026, 11, 6)), ("slutlig_aterkoppling", D(2026, 11, 13))]),
        # hasselby_stadsmiljo just before jul 2027: Mon 20/12 + 3 = Thu 23/12; + 10 =
        # Thu 30/12, both working days
        ("hasselby_stadsmiljo", utc(2027, 12, 20, 7, 0), True,
         [("aterkoppling", D(2027, 12, 23)), ("slutlig_aterkoppling", D(2027, 12, 30))]),
        # soderkoping from Kristi himmelsfärd 2027 (Thu 6/5): + 30 = Sat 5/6, Sun 6/6
        # nationaldagen -> Mon 7/6
        ("soderkoping", utc(2027, 5, 6, 10, 0), True, [("aterkoppling", D(2027, 6, 7))]),
        # essunga over jul and nyår 2027: Wed 22/12 17:00 -> receipt Thu 23/12; Fri 24
        # julafton off, 27 (1), 28 (2), 29 (3), 30 (4), Fri 31 nyårsafton off, Mon 3/1 (5)
        ("essunga", utc(2027, 12, 22, 16, 0), True, [("bekraftelse", D(2028, 1, 3))]),
        # nacka over påsk 2027: Tue 23/3; 24 (1), 25 (2), 26 långfredag and 29 annandag
        # påsk off, 30 (3), 31 (4), 1/4 (5); 2 (6), 5 (7), 6 (8), 7 (9), 8 (10)
        ("nacka_socialpsykiatri", utc(2027, 3, 23, 9, 0), True,
         [("forsta_aterkoppling", D(2027, 4, 1)), ("slutlig_aterkoppling", D(2027, 4, 8))]),
        # hasselby_vallingby onto midsommarafton 2027: Fri 11/6 + 14 = Fri 25/6 -> Mon 28/6
        ("hasselby_vallingby", utc(2027, 6, 11, 9, 0), True, [("utredning", D(2027, 6, 28))]),
        # socialnamnden_2005 onto alla helgons dag 2026: Wed 21/10 + 10 = Sat 31/10 -> Mon 2/11
        ("socialnamnden_2005", utc(2026, 10, 21, 13, 0), True, [("besked", D(2026, 11, 2))]),
    ],
)
def test_deadlines_for_routine(
    routine_id: str, received: datetime, has_contact: bool, expected: list[tuple[str, date]]
) -> None:
    routine: Rutin = ROUTINES.profiler[routine_id]
    due = deadlines_for(routine, received, has_contact)
    assert [(d.kind, d.due) for d in due] == expected
    descriptions = {f.typ: f.beskrivning for f in routine.frister}
    assert all(d.description == descriptions[d.kind] for d in due)


def test_deadlines_for_naive_datetime_raises() -> None:
    with pytest.raises(ValueError, match="timezone"):
        deadlines_for(ROUTINES.profiler["essunga"], datetime(2026, 3, 2, 10, 0), True)


def test_warm_reads_this_years_and_next_years_days_off() -> None:
    from deadlines import calendar

    calendar._days_off.cache_clear()
    calendar.warm(date(2026, 12, 6))
    before = calendar._days_off.cache_info()
    assert before.currsize == 2
    assert add_working_days(date(2026, 12, 23), 5) == date(2027, 1, 5)
    after = calendar._days_off.cache_info()
    assert (after.misses, after.hits > before.hits) == (before.misses, True)
