"""The pure parts of SMS: numbers, GSM-7, joining split texts, the stored
form, Twilio's signature (against Twilio's documented test vector) and the
SMS mottagningsbevis of every extern instance and routine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from config.kommun import load_kommun
from config.settings import SHIPPED_CONFIG
from deadlines.routine import Deadline
from ingest.message import Channel, Quarantine
from ingest.sms import twilio
from ingest.sms.elks import basic_auth_ok, format_time, parse_time
from ingest.sms.gateway import WebhookRefusedError, WebhookRequest
from ingest.sms.join import Part, chain_of, message_of, quiet_at, subject_of
from ingest.sms.phone import e164, is_short_code, masked
from ingest.sms.record import SmsRecord, from_raw
from notify.gsm7 import encode, septets
from notify.sms import render_sms_receipt

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("given", "expected"), [
    ("070-123 45 67", "+46701234567"),
    ("0701234567", "+46701234567"),
    ("+46 70 123 45 67", "+46701234567"),
    ("0046701234567", "+46701234567"),
    ("46701234567", "+46701234567"),
    ("+4915112345678", "+4915112345678"),
    ("08-123 456 78", "+46812345678"),
    ("Posten", None),
    ("46elks", None),
    ("", None),
    ("12", None),
])
def test_numbers_are_stored_as_e164(given: str, expected: str | None) -> None:
    assert e164(given) == expected


def test_short_codes_and_masking() -> None:
    assert is_short_code("72400") and is_short_code("71111")
    assert not is_short_code("+46701234567") and not is_short_code("0701234567")
    assert masked("+46701234567") == "+46*******67"
    assert "1234" not in masked("+46701234567")


def test_gsm7_counts_swedish_letters_as_single_septets() -> None:
    assert septets("åäöÅÄÖéü") == 8
    assert septets("€[]") == 6  # the extension table costs two each
    assert septets("–") is None


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("ö" * 160, "GSM-7", 1),
    ("Tack – “bra” jobbat…", "GSM-7", 1),  # look-alikes replaced, not UCS-2
    ("😀" * 35, "UCS-2", 1),  # 70 UTF-16 code units
    ("😀" * 36, "UCS-2", 2),
    ("Ж" * 71, "UCS-2", 2),
])
def test_segments_are_counted_honestly(text: str, encoding: str, segments: int) -> None:
    encoded = encode(text)
    assert (encoded.encoding, encoded.segments) == (encoding, segments)


def test_typographic_characters_become_gsm7() -> None:
    assert encode("Ekby – “kommun” ’s").text == "Ekby - \"kommun\" 's"


def _part(i: int, seconds: float, text: str = "x") -> Part:
    at = T0 + timedelta(seconds=seconds)
    return Part(i, at, at + timedelta(seconds=1), text)


def test_texts_close_together_are_one_chain_and_a_pause_starts_another() -> None:
    parts = [_part(1, 0), _part(2, 40), _part(3, 100), _part(4, 400), _part(5, 430)]
    gap = timedelta(seconds=120)
    assert [p.inbound_id for p in chain_of(parts, 2, gap)] == [1, 2, 3]
    assert [p.inbound_id for p in chain_of(parts, 5, gap)] == [4, 5]
    assert chain_of(parts, 99, gap) == []


def test_a_chain_never_grows_past_its_span() -> None:
    parts = [_part(i, i * 60) for i in range(1, 40)]  # one text a minute for 40 minutes
    chain = chain_of(parts, 1, timedelta(seconds=120), span=timedelta(minutes=15))
    assert len(chain) == 16


def test_parts_are_joined_in_the_order_they_were_sent_not_received() -> None:
    parts = [_part(2, 30, "andra delen"), _part(1, 0, "Första delen,")]
    chain = chain_of(parts, 2, timedelta(seconds=120))
    message = message_of(chain, "+46701234567")
    assert message.text == "Första delen,\nandra delen"
    assert message.channel == Channel.SMS and message.sender == "+46701234567"
    assert quiet_at(chain, timedelta(seconds=120)) == T0 + timedelta(seconds=150)


def test_a_text_found_late_by_the_poll_is_ready_at_once() -> None:
    old = Part(1, T0, T0 + timedelta(hours=2), "hittat av avstämningen")
    assert quiet_at([old], timedelta(seconds=120)) == T0 + timedelta(seconds=120)


def test_subject_is_the_first_words() -> None:
    assert subject_of("Gatlampan är trasig") == "Sms: Gatlampan är trasig"
    long = subject_of("ord " * 40)
    assert long.startswith("Sms: ord ord") and long.endswith(" …") and len(long) < 72
    assert subject_of("") == "Sms"


def test_stored_sms_round_trips_and_bad_bytes_are_quarantined() -> None:
    record = SmsRecord("46elks", "s1", "+46701234567", "+46700000100", "Hej 😀 ö", T0)
    assert from_raw(record.to_raw()) == record
    for raw in (b"\xff", b"[]", b'{"format": "other"}',
                b'{"format": "synpunkt-sms/1", "id": "x"}'):
        assert isinstance(from_raw(raw), Quarantine)


def test_elks_time_format() -> None:
    assert parse_time("2018-07-13T13:57:23.741000") == datetime(2018, 7, 13, 13, 57, 23, 741000,
                                                               tzinfo=UTC)
    assert parse_time("2017-03-14T09:52:10Z").tzinfo is not None
    assert format_time(T0) == "2026-11-23T09:00:00.000000"


def test_basic_auth_check() -> None:
    import base64

    def header(user: str, pw: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}

    assert basic_auth_ok(header("u", "p:q"), "u", "p:q")
    assert not basic_auth_ok(header("u", "x"), "u", "p:q")
    assert not basic_auth_ok({"authorization": "Basic !!!"}, "u", "p")
    assert not basic_auth_ok({}, "u", "p")


# Twilio's documented test vector (twilio-python tests/unit/test_request_validator.py).
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = (("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
                 ("From", "+14158675309"), ("To", "+18005551212"))


def test_twilio_signature_matches_the_documented_vector() -> None:
    assert twilio.signature("12345", VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilio_webhook_signed_over_a_url_with_a_port_is_accepted() -> None:
    gateway = twilio.TwilioGateway("AC1", "12345", "+46700000100")
    params = (*VECTOR_PARAMS, ("MessageSid", "SM1"), ("Body", "Hej"))
    signed = twilio.signature("12345", VECTOR_URL, params)
    for url in (VECTOR_URL, VECTOR_URL.replace(".com", ".com:443")):
        request = WebhookRequest(url, {"x-twilio-signature": signed}, params)
        assert gateway.parse_webhook(request, T0).id == "SM1"
    forged = WebhookRequest(VECTOR_URL, {"x-twilio-signature": signed},
                            (*params[:-1], ("Body", "Annat")))
    with pytest.raises(WebhookRefusedError):
        gateway.parse_webhook(forged, T0)


@pytest.fixture(scope="module")
def kommun():  # type: ignore[no-untyped-def]
    return load_kommun(SHIPPED_CONFIG)


def test_every_sms_receipt_of_ekby_fits_one_sms(kommun) -> None:  # type: ignore[no-untyped-def]
    """Each extern instance, each month's longest date, an appeal: one GSM-7 SMS."""
    number = "EKBY 2026/12345"
    for month in range(1, 13):
        due = [Deadline("aterkoppling", date(2026, month, 28), "återkoppling")]
        for extern in [None, *kommun.organisation.externa_instanser]:
            for flags in ((), ("overklagande",)):
                sms = render_sms_receipt(kommun, "+46701234567", number, due, extern, flags)
                assert number in sms.text
                assert (sms.encoding, sms.segments) == ("GSM-7", 1), sms.text
                if extern is not None:
                    assert extern.kontakt in sms.text
                elif "overklagande" in flags:
                    assert "överklaga" in sms.text
                else:
                    assert "28 " in sms.text and "Svara på detta sms" in sms.text
