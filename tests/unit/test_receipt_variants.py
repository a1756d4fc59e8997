"""No receipt contradicts its routine (issue 23): every variant the shipped
configuration sends (tests/receipt_variants.py) is checked here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.receipt_variants import Variant, compilation_receipt, markdown, variants

ROOT = Path(__file__).resolve().parents[2]
ALL = variants()


def _id(v: Variant) -> str:
    return f"{v.routine}-{v.kind}-{v.channel}"


@pytest.mark.parametrize("v", ALL, ids=_id)
def test_the_receipt_keeps_to_the_routine(v: Variant) -> None:
    text = v.text
    assert "EKBY 2027/0042" in text
    if v.kind == "beröm":  # thanked, never a complaint's promise
        assert "klagomål" not in text.lower() and "senast" not in text
        assert "Tack för dina vänliga ord" in text
    if v.kind == "överklagande":  # how to appeal, and help; no återkoppling date
        assert "senast" not in text and v.promised_dates == 0
        assert "överklaga" in text
    if v.kind == "medborgarförslag":
        assert "senast" not in text and v.promised_dates == 0
        assert "förslag" in text
    if v.kind.startswith("lotsat"):  # where to turn, and no deadline
        assert "Försäkringskassan" in text and "senast" not in text
    if v.kind in ("klagomål", "synpunkt"):
        assert v.promised_dates >= 1
        if v.channel == "e-post":
            assert text.count("senast") == v.promised_dates
        else:
            assert "senast" in text
    if v.channel == "sms":
        assert "har fått ditt sms" in text


def test_the_appendix_shows_every_variant_as_sent() -> None:
    page = (ROOT / "docs" / "receipts.md").read_text("utf-8")
    assert page == markdown(), "run: .venv/bin/python tests/receipt_variants.py > docs/receipts.md"
    assert len(ALL) == 6 * 6 * 2


def test_an_utforares_compilation_is_thanked_and_promised_nothing() -> None:
    """000:54: the compilation is sent "till registratorn för diarieföring":
    registered, not handled as a complaint of its own."""
    text = compilation_receipt()
    assert "EKBY 2027/0043" in text and "diarieförd" in text and "sammanställning" in text
    assert "senast" not in text and "\nHej!" in "\n" + text.split("\n\n", 1)[1]
