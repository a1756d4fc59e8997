"""The web application's pure parts: who may do what, and what of a mail's
HTML may be shown."""

from __future__ import annotations

import pytest

from review.access import (
    Person,
    Role,
    may_correct,
    may_handle_case,
    may_see_case,
    may_see_personnummer,
    start_page,
)
from review.original import safe_html

REG = Person(1, "eva@ekby.example", Role.REGISTRATOR)
CHEF = Person(2, "lars@ekby.example", Role.CHEF, "hemtjanst_norr")
ADMIN = Person(3, "admin@ekby.example", Role.ADMIN)


@pytest.mark.parametrize(("person", "enhet", "restricted", "sees", "handles"), [
    (REG, "gata_park", False, True, True),
    (REG, "gata_park", True, True, True),
    (CHEF, "hemtjanst_norr", False, True, True),
    (CHEF, "hemtjanst_norr", True, True, True),
    (CHEF, "gata_park", False, False, False),
    (CHEF, "gata_park", True, False, False),
    (ADMIN, "gata_park", False, True, False),
    (ADMIN, "gata_park", True, False, False),
])
def test_who_sees_and_handles_a_case(person: Person, enhet: str, restricted: bool, sees: bool,
                                     handles: bool) -> None:
    assert may_see_case(person, enhet, restricted) is sees
    assert may_handle_case(person, enhet) is handles
    assert may_see_personnummer(person, enhet) is handles


def test_only_the_registrator_corrects_and_each_role_has_a_start_page() -> None:
    assert may_correct(REG) and not may_correct(CHEF) and not may_correct(ADMIN)
    assert [start_page(p) for p in (REG, CHEF, ADMIN)] == ["/inkorg", "/enhet", "/admin"]


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '<img src="http://evil.example/x.png" onerror="alert(1)">',
    '<div style="background:url(http://evil.example/leak)">x</div>',
    "<style>body{background:url(http://evil.example/c)}</style>",
    '<iframe src="http://evil.example/"></iframe>',
    '<svg onload="alert(1)"><image href="http://evil.example/s"/></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="http://evil.example/">x</a>',
    '<form action="http://evil.example/"><input name=a></form>',
    '<link rel="stylesheet" href="http://evil.example/c.css">',
    '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
    '<object data="http://evil.example/o"></object>',
    '<base href="http://evil.example/">',
])
def test_hostile_html_is_made_inert(hostile: str) -> None:
    shown = str(safe_html(f"<p>Hej</p>{hostile}<p>då</p>", True)).lower()
    assert "hej" in shown and "då" in shown
    for bad in ("script", "onerror", "onload", "style", "iframe", "svg", "javascript:",
                "evil.example", "<form", "<link", "<meta", "<object", "<base", "<img"):
        assert bad not in shown, (hostile, shown)


def test_personnummer_leave_the_html_unless_the_reader_may_see_them() -> None:
    html = "<p>Mitt personnummer är 19400101-0000.</p>"
    assert "19400101-0000" in safe_html(html, True)
    assert "19400101-0000" not in safe_html(html, False)
