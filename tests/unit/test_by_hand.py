"""What staff write down is checked before anything is stored
(ingest/by_hand.py): consent for an oral complaint, one way to answer, a
valid address or number, some text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.by_hand import Entry, EntryRefusedError, entry, from_raw
from ingest.message import Channel

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TEXT = "Hemtjänsten kom inte i tisdags."


@pytest.mark.parametrize(("channel", "kwargs", "said"), [
    ("telefon", {"phone": "070-123 45 67"}, "samtycke"),
    ("besok", {"anonymous": True}, "samtycke"),
    ("muntlig", {"email": "a@example.se"}, "samtycke"),
    ("brev", {}, "--anonymous"),
    ("brev", {"email": "inte-en-adress"}, "e-postadress"),
    ("brev", {"phone": "Posten"}, "telefonnummer"),
    ("brev", {"anonymous": True, "email": "a@b.se"}, "en av"),
    ("email", {"anonymous": True}, "kommer in av sig självt"),
    ("fax", {"anonymous": True}, "okänd kanal"),
])
def test_refused_with_the_reason(channel: str, kwargs: dict[str, object], said: str) -> None:
    with pytest.raises(EntryRefusedError, match=said):
        entry(channel, TEXT, "user:eva", NOW, **kwargs)  # type: ignore[arg-type]


def test_an_empty_text_is_refused() -> None:
    with pytest.raises(EntryRefusedError, match="tom"):
        entry("brev", " \n", "user:eva", NOW, anonymous=True)


def test_an_entry_keeps_what_was_written_and_reads_back() -> None:
    written = entry("telefon", f"  {TEXT}\n", "user:eva", NOW, phone="070-123 45 67",
                    name=" Karin Holm ", consent=True)
    assert (written.phone, written.name, written.subject) == ("+46701234567", "Karin Holm",
                                                              TEXT)
    back = from_raw(written.to_raw())
    assert isinstance(back, Entry) and back == written
    message = back.message()
    assert (message.channel, message.sender, message.answer_by) == (Channel.TELEFON,
                                                                    "+46701234567", "sms")


def test_a_damaged_entry_is_quarantined_not_crashed() -> None:
    for raw in (b"\xff", b"[]", b'{"format": "synpunkt-for-hand/1"}'):
        assert not isinstance(from_raw(raw), Entry)
