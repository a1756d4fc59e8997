"""The mottagningsbevis as the citizen receives it."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime

from config.kommun import load_kommun
from config.settings import SHIPPED_CONFIG
from deadlines.routine import Deadline
from ingest.message import Channel, Message
from ingest.screen import Context, own_message_id, screen
from notify.mail import OutgoingMail
from notify.receipt import render_receipt

KOMMUN = load_kommun(SHIPPED_CONFIG)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
MESSAGE = Message(
    channel=Channel.EMAIL, sender="asa.oberg@example.se", display_name="Åsa Öberg",
    subject="SV: Hemtjänsten kom inte", text="Ingen kom i morse.",
    message_id="<orig-1@example.se>", references=("<older@example.se>",),
)
DEADLINE = Deadline("aterkoppling", date(2026, 12, 23), "återkoppling")


def _receipt(message: Message = MESSAGE) -> email.message.EmailMessage:
    mail = render_receipt(KOMMUN, message, "EKBY 2026/0042", [DEADLINE], NOW)
    parsed = email.message_from_bytes(mail.to_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_headers_of_an_automatic_reply() -> None:
    msg = _receipt()
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<orig-1@example.se>"
    assert msg["References"].split() == ["<older@example.se>", "<orig-1@example.se>"]
    assert msg["To"] == "asa.oberg@example.se"
    assert msg["From"].addresses[0].addr_spec == "synpunkter@ekby.example"
    assert own_message_id(msg["Message-ID"], "ekby.example")
    assert msg["Subject"] == "Mottagningsbevis: Hemtjänsten kom inte [EKBY 2026/0042]"


def test_body_is_kind_swedish_with_diarienummer_and_date() -> None:
    body = _receipt().get_content()
    assert body.startswith("Hej Åsa!")
    assert "diarienummer EKBY 2026/0042" in body
    assert "senast onsdag 23 december 2026" in body
    assert "[EKBY 2026/0042]" in body
    assert "automatiskt mottagningsbevis" in body


def test_extern_receipt_tells_where_to_turn() -> None:
    extern = KOMMUN.organisation.extern("forsakringskassan")
    assert extern is not None
    mail = render_receipt(KOMMUN, MESSAGE, "EKBY 2026/0042", [DEADLINE], NOW, extern)
    assert "Försäkringskassan" in mail.text
    assert "0771-524 524" in mail.text
    assert "senast" not in mail.text


def test_subject_cannot_inject_headers() -> None:
    hostile = Message(channel=Channel.EMAIL, sender="x@example.se", display_name="A\r\nBcc: y",
                      subject="Hej\r\nBcc: victim@example.com", text="t")
    raw = render_receipt(KOMMUN, hostile, "EKBY 2026/0001", [], NOW).to_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Bcc"] is None
    assert "\n" not in str(msg["Subject"])


def test_our_receipt_coming_back_is_screened_out() -> None:
    mail = render_receipt(KOMMUN, MESSAGE, "EKBY 2026/0042", [DEADLINE], NOW)
    back = Message(channel=Channel.EMAIL, sender="someone@example.se", display_name=None,
                   subject=mail.subject, text="", message_id=mail.message_id)
    verdict = screen(back, Context("ekby.example", frozenset()))
    assert verdict is not None
    assert verdict.code == "own-message-id"


def test_no_name_no_greeting_name() -> None:
    anon = Message(channel=Channel.EMAIL, sender="x@example.se", display_name="Berg, Anna",
                   subject="", text="t")
    mail = render_receipt(KOMMUN, anon, "EKBY 2026/0001", [], NOW)
    assert mail.text.startswith("Hej!")
    assert mail.subject == "Mottagningsbevis [EKBY 2026/0001]"


def test_wire_form_round_trips_with_short_lines() -> None:
    """The bytes Synpunkt writes itself (notify.mail) read back as written:
    every line CRLF-ended and within 78 characters where a fold is
    possible, the body's text exact, whatever it holds (a lone CR, trailing
    blanks, '=', a leading dot, long lines, non-ASCII)."""
    text = ("Hej Åsa!\n\nrad med blanka på slutet  \t\nensam\rvagnretur\r\n.\nFrom här\n"
            "= och =?utf-8?q?x?=\n" + "lång rad med å ä ö " * 30)
    mail = OutgoingMail("Ekby kommun – Socialförvaltningen", "synpunkter@ekby.example",
                        "anna@example.se", "Ärende " * 30, text, "<synpunkt.1@ekby.example>",
                        NOW, "<orig@example.se>",
                        tuple(f"<ref{i}.{'z' * 40}@example.se>" for i in range(25)),
                        urgent=True)
    raw = mail.to_bytes()
    lines = raw.split(b"\r\n")
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in lines) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    assert parsed.get_content().replace("\r\n", "\n") == text.replace("\r\n", "\n").replace(
        "\r", "\n")
    assert parsed["Subject"] == ("Ärende " * 30).strip()
    assert parsed["From"].addresses[0].display_name == "Ekby kommun – Socialförvaltningen"
    assert parsed["References"].split()[-1] == "<orig@example.se>"
    assert len(parsed["References"].split()) == 20
    assert parsed["Importance"] == "high"
    assert parsed.get_content_type() == "text/plain"
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
