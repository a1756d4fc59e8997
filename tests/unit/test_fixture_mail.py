"""Parse, screen and thread each fixture mail; expectations in manifest.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from config.settings import Limits
from ingest.message import Message, Quarantine
from ingest.parse import parse
from ingest.screen import Context, screen
from ingest.thread import thread_refs
from tests.support import FIXTURES, manifest

OWN = frozenset({"synpunkter@ekby.example", "registrator@ekby.example"})
ENTRIES = manifest()


def test_manifest_covers_every_fixture() -> None:
    files = sorted(p.name for p in FIXTURES.glob("*.eml"))
    assert files == sorted(e["file"] for e in ENTRIES)
    assert len(files) == 40


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_fixture(entry: dict[str, Any]) -> None:
    raw = (FIXTURES / entry["file"]).read_bytes()
    result = parse(raw, Limits())
    if entry["expect"] == "quarantined":
        assert isinstance(result, Quarantine), f"expected quarantine, got {result!r}"
        assert result.code == entry["reason"]
        return
    assert isinstance(result, Message), f"quarantined: {result}"
    assert result.sender == entry["sender"]
    assert result.display_name == entry["display_name"]
    assert result.subject == entry["subject"]
    for needle in entry["text_contains"]:
        assert needle in result.text, f"{needle!r} not in text"
    for needle in entry["text_absent"]:
        assert needle not in result.text
    assert len(result.attachments) == entry["attachments"]
    verdict = screen(result, Context("ekby.example", OWN))
    if entry["expect"] == "ignored":
        assert verdict is not None, "automatic mail was not screened out"
        assert verdict.code == entry["reason"]
    else:
        assert verdict is None, f"citizen mail screened out: {verdict}"
    refs = thread_refs(result, "EKBY")
    if entry["expect"] == "reply":
        assert refs.diarienummer == ("EKBY 2026/0001",)


def _parsed(name: str) -> Message:
    result = parse((FIXTURES / name).read_bytes(), Limits())
    assert isinstance(result, Message)
    return result


def test_mislabelled_cp1252_is_read_as_the_writer_wrote_it() -> None:
    text = _parsed("15_kulturskola_avgift_cp1252.eml").text
    assert "€" in text and "–" in text and "“" in text and "”" in text
    assert "\x80" not in text and "\x96" not in text


def test_iso_8859_1_quoted_printable() -> None:
    text = _parsed("08_ekhagen_horapparat_latin1.eml").text
    assert any(ch in text for ch in "åäöÅÄÖ")
    assert "=E5" not in text and "=E4" not in text


def test_attachments_are_decoded_with_their_bytes() -> None:
    message = _parsed(next(e["file"] for e in ENTRIES if e["attachments"] == 2))
    kinds = {a.content_type for a in message.attachments}
    assert "application/pdf" in kinds
    pdf = next(a for a in message.attachments if a.content_type == "application/pdf")
    assert pdf.content is not None and pdf.content.startswith(b"%PDF")
    assert pdf.size == len(pdf.content)
    assert any(set("åäö") & set(a.filename) for a in message.attachments)


def test_attachment_over_the_limit_is_listed_without_content() -> None:
    name = next(e["file"] for e in ENTRIES if e["attachments"] == 2)
    result = parse((FIXTURES / name).read_bytes(), Limits(attachment_bytes=100))
    assert isinstance(result, Message)
    assert len(result.attachments) == 2
    assert all(a.content is None and a.size > 100 for a in result.attachments)


def test_html_only_mail_becomes_plain_text_without_markup() -> None:
    message = _parsed("04_snorojning_angsvagen_html.eml")
    assert "<" not in message.text and "&nbsp;" not in message.text and "&auml;" not in message.text


def test_auto_submitted_no_is_a_person() -> None:
    entry = next(e for e in ENTRIES if "Auto-Submitted: no" in e["note"])
    message = _parsed(entry["file"])
    assert message.header("auto-submitted") == "no"
    assert screen(message, Context("ekby.example", OWN)) is None
