"""Personnummer, samordningsnummer, phone numbers, e-mail addresses and
diarienummer found by rules: every valid number, no invalid one."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from classify.sensitive import (
    DIARIENUMMER,
    EMAIL,
    PHONE,
    PNR,
    SAMORDNING,
    find,
    luhn_ok,
    mask,
)


def _check_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def _valid(rng: random.Random, samordning: bool = False) -> tuple[str, str]:
    day = date(1920, 1, 1) + timedelta(days=rng.randrange(365 * 85))
    dd = day.day + (60 if samordning else 0)
    nine = f"{day:%y%m}{dd:02d}{rng.randrange(1000):03d}"
    ten = nine + _check_digit(nine)
    return f"{day.year // 100}{ten[:6]}-{ten[6:]}", f"{ten[:6]}-{ten[6:]}"


@pytest.mark.parametrize("seed", range(5))
def test_every_valid_number_is_found_in_every_form(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        samordning = rng.random() < 0.3
        long_form, short_form = _valid(rng, samordning)
        kind = SAMORDNING if samordning else PNR
        for written in (long_form, short_form, long_form.replace("-", ""),
                        short_form.replace("-", "")):
            text = f"Min pappa ({written}) fick fel medicin."
            spans = find(text)
            assert [(s.kind, s.text) for s in spans] == [(kind, written)], text


@pytest.mark.parametrize("seed", range(5))
def test_no_hit_on_invalid_numbers(seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(200):
        long_form, _short = _valid(rng)
        wrong = long_form[:-1] + str((int(long_form[-1]) + rng.randrange(1, 10)) % 10)
        assert not luhn_ok(wrong.replace("-", "")[2:])
        assert [s for s in find(f"Ärende {wrong} gäller") if s.kind in (PNR, SAMORDNING)] == []
    # A valid check digit on an impossible date is not a personnummer either.
    assert [s.kind for s in find("nummer 19451332-1234 och 451399-0000")] == []


@pytest.mark.parametrize(("text", "kind", "found"), [
    ("ring mig på 070-174 06 12 efter fem", PHONE, "070-174 06 12"),
    ("mobil +46 70 174 06 13", PHONE, "+46 70 174 06 13"),
    ("tel 08-123 456 78", PHONE, "08-123 456 78"),
    ("skriv till kalle.ek@example.se tack", EMAIL, "kalle.ek@example.se"),
    ("angående EKBY 2026/0042 igen", DIARIENUMMER, "EKBY 2026/0042"),
])
def test_other_spans(text: str, kind: str, found: str) -> None:
    assert [(s.kind, s.text) for s in find(text)] == [(kind, found)]


def test_mask_hides_everything_sensitive() -> None:
    text = "Pappa 19450312-2386 ring 070-174 06 12 eller mejla a.b@example.se om EKBY 2026/0042"
    assert mask(text) == "Pappa <PNR> ring <TELEFON> eller mejla <EPOST> om <DNR>"
    assert mask("Inget känsligt här.") == "Inget känsligt här."
