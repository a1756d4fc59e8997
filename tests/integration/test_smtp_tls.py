"""Delivery over the SMTP a kommun's mail server speaks: STARTTLS and SMTPS
with AUTH, against the aiosmtpd sink with a real certificate (loopback,
`tests/harness/tls.py`). A certificate the settings do not trust, and a
server off loopback that does not offer STARTTLS, get nothing: neither the
message nor the password travels in the clear. A UTF-8 address goes with
SMTPUTF8."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.errors import PermanentError, TransientError
from notify.smtp import SmtpTransport, parse_smtp_url
from tests.harness.smtp import SmtpSink
from tests.harness.tls import self_signed_cert

USER, PASSWORD = "synpunkt", "hemligt ord"
BODY = (b"From: Ekby kommun <synpunkter@ekby.example>\r\nTo: kalle@example.se\r\n"
        b"Subject: Mottagningsbevis [EKBY 2026/0001]\r\n\r\nHej!\r\n")


def _trusting() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(self_signed_cert()[0]))
    return context


def _url(sink: SmtpSink, auth: bool = True) -> str:
    scheme, rest = sink.url().split("://")
    return f"{scheme}://{USER}:{PASSWORD.replace(' ', '%20')}@{rest}" if auth else sink.url()


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[list[SmtpSink]]:
    started: list[SmtpSink] = []
    yield started
    for sink in started:
        sink.stop()


def _sink(sinks: list[SmtpSink], root: Path, **options: object) -> SmtpSink:
    sink = SmtpSink(root, auth=(USER, PASSWORD), **options)  # type: ignore[arg-type]
    sink.start()
    sinks.append(sink)
    return sink


def _send(transport: SmtpTransport) -> None:
    committed: list[bool] = []
    try:
        transport.send(1, "kalle@example.se", BODY, lambda: committed.append(True))
    finally:
        transport.close()
    assert committed == [True]


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_delivered_over_tls_with_auth(tmp_path: Path, sinks: list[SmtpSink], tls: str) -> None:
    sink = _sink(sinks, tmp_path, tls=tls)
    _send(SmtpTransport(parse_smtp_url(_url(sink)), tls_context=_trusting()))
    [delivery] = sink.deliveries()
    assert (delivery.tls, delivery.authenticated, delivery.raw) == (True, True, BODY)


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_a_certificate_not_trusted_gets_nothing(tmp_path: Path, sinks: list[SmtpSink],
                                               tls: str) -> None:
    sink = _sink(sinks, tmp_path, tls=tls)
    with pytest.raises(TransientError):  # a server to fix, then the retries go through
        _send(SmtpTransport(parse_smtp_url(_url(sink)), tls_context=ssl.create_default_context()))
    assert sink.deliveries() == []


def test_off_loopback_without_starttls_gets_nothing(tmp_path: Path,
                                                    sinks: list[SmtpSink]) -> None:
    """127.0.0.2 is this machine, but not loopback to the settings: STARTTLS
    is required there, and a server that does not offer it never sees the
    password or the message."""
    sink = _sink(sinks, tmp_path, host="127.0.0.2")
    assert parse_smtp_url(_url(sink)).starttls
    with pytest.raises((TransientError, PermanentError)):
        _send(SmtpTransport(parse_smtp_url(_url(sink)), tls_context=_trusting()))
    assert sink.deliveries() == []


def test_a_utf8_local_part_goes_with_smtputf8(tmp_path: Path, sinks: list[SmtpSink]) -> None:
    """RFC 6531: an address like åsa@… goes as UTF-8 with SMTPUTF8 to a
    server that offers it; the next mail on the same connection is ASCII again."""
    sink = _sink(sinks, tmp_path, tls="starttls")
    transport = SmtpTransport(parse_smtp_url(_url(sink)), tls_context=_trusting())
    try:
        transport.send(1, "åsa.öberg@example.se", BODY, lambda: None)
        transport.send(2, "kalle@example.se", BODY, lambda: None)
    finally:
        transport.close()
    first, second = sink.deliveries()
    assert first.rcpt_tos == ["åsa.öberg@example.se"]
    assert second.rcpt_tos == ["kalle@example.se"]
    meta = [json.loads(p.read_text("utf-8")) for p in sorted(sink.messages_dir.glob("*.json"))]
    assert "SMTPUTF8" in [o.upper() for o in meta[0]["mail_options"]]
    assert "SMTPUTF8" not in [o.upper() for o in meta[1]["mail_options"]]
