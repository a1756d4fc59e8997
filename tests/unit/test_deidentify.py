"""De-identification at registration (classify/deidentify.py), pure."""

from __future__ import annotations

import pytest

from classify.deidentify import deidentify


@pytest.mark.parametrize(("text", "names", "expected"), [
    ("Ring mig på 070-123 45 67 eller skriv till karin@example.se.", (),
     "Ring mig på [telefon] eller skriv till [e-post]."),
    ("Mitt personnummer är 19400101-0000.", (), "Mitt personnummer är [personnummer]."),
    ("Jag bor på Storgatan 5, lgh 1201, sedan i våras.", (),
     "Jag bor på [adress], sedan i våras."),
    ("Hej! Karin Holm här. Karin undrar varför.", ("Karin Holm",),
     "Hej! [namn] [namn] här. [namn] undrar varför."),
    ("Mitt namn är Per-Olof Ström och jag klagar.", (),
     "Mitt namn är [namn] [namn] och jag klagar."),
    ("Tack för hjälpen!\n\nVänliga hälsningar\nLisa", (),
     "Tack för hjälpen!\n\nVänliga hälsningar\n[namn]"),
    ("Hälsningar från Ekbacken, där det är kallt.", (),
     "Hälsningar från Ekbacken, där det är kallt."),  # not a name
    ("Parken vid Storgatan är skräpig.", (), "Parken vid Storgatan är skräpig."),  # no number
])
def test_what_is_masked(text: str, names: tuple[str, ...], expected: str) -> None:
    assert deidentify(text, names).text == expected


def test_it_counts_what_it_masked() -> None:
    found = deidentify("Karin, Storgatan 5, 070-123 45 67, 19400101-0000.", ["Karin"])
    assert found.masked == {"namn": 1, "adress": 1, "telefon": 1, "personnummer": 1}


def test_an_address_is_not_a_name() -> None:
    assert deidentify("Hej", ["karin@example.se"]).text == "Hej"
