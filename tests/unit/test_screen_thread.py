"""screen() on each automatic-mail signal, and thread_refs() on reply forms."""

from __future__ import annotations

import dataclasses

import pytest

from ingest.message import Channel, Message
from ingest.screen import Context, screen
from ingest.thread import thread_refs

OWN = frozenset({"synpunkter@ekby.example"})
PERSON = Message(channel=Channel.EMAIL, sender="kalle@example.se", display_name="Kalle",
                 subject="Hemtjänsten", text="Ingen kom.", message_id="<a1@example.se>")


def _with(headers: dict[str, str] | None = None, **fields: object) -> Message:
    hdrs = tuple((k.lower(), v) for k, v in (headers or {}).items())
    return dataclasses.replace(PERSON, headers=hdrs, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("message", "code"), [
    (_with({"Auto-Submitted": "auto-replied"}), "auto-submitted"),
    (_with({"Auto-Submitted": "auto-generated; owner-email=x@y"}), "auto-submitted"),
    (_with({"Auto-Submitted": "auto-notified"}), "auto-submitted"),
    (_with({"Precedence": "bulk"}), "precedence"),
    (_with({"Precedence": "JUNK"}), "precedence"),
    (_with({"Precedence": "list"}), "precedence"),
    (_with({"List-Id": "Nyheter <nyheter.example.com>"}), "list-id"),
    (_with({"List-Unsubscribe": "<mailto:u@example.com>"}), "list-unsubscribe"),
    (_with({"X-Autoreply": "yes"}), "x-autoreply"),
    (_with({"X-Autorespond": "Frånvaro"}), "x-autorespond"),
    (_with(return_path="<>"), "empty-return-path"),
    (_with(sender="mailer-daemon@mx.example.net"), "system-sender"),
    (_with(sender="postmaster@example.net"), "system-sender"),
    (_with(sender="noreply@bank.example"), "system-sender"),
    (_with(sender="no-reply@bank.example"), "system-sender"),
    (_with(content_type="multipart/report"), "delivery-report"),
    (_with(message_id="<synpunkt.0123abcd@ekby.example>"), "own-message-id"),
    (_with(sender="synpunkter@ekby.example"), "own-address"),
])
def test_automatic_mail_is_screened_with_its_reason(message: Message, code: str) -> None:
    verdict = screen(message, Context("ekby.example", OWN))
    assert verdict is not None
    assert verdict.code == code


@pytest.mark.parametrize("message", [
    PERSON,
    _with({"Auto-Submitted": "no"}),
    _with({"Precedence": "normal"}),
    _with({"X-Auto-Response-Suppress": "All"}),
    _with(return_path="<kalle@example.se>"),
    _with(sender="noreplyfan@example.se"),
    _with(message_id="<synpunkt.0123abcd@other.example>"),
])
def test_a_person_is_not_screened(message: Message) -> None:
    assert screen(message, Context("ekby.example", OWN)) is None


@pytest.mark.parametrize(("subject", "expected"), [
    ("SV: Mottagningsbevis: Hemtjänsten [EKBY 2026/0042]", ("EKBY 2026/0042",)),
    ("Re: ärende ekby 2026/42", ("EKBY 2026/0042",)),
    ("Angående EKBY-2025/0007 och EKBY 2026/0001", ("EKBY 2025/0007", "EKBY 2026/0001")),
    ("Hemtjänsten kom inte", ()),
    ("NYEKBY 2026/0042", ()),
])
def test_diarienummer_in_subject(subject: str, expected: tuple[str, ...]) -> None:
    assert thread_refs(_with(subject=subject), "EKBY").diarienummer == expected


def test_message_ids_from_in_reply_to_then_references_newest_first() -> None:
    refs = thread_refs(_with(in_reply_to="<c@x>", references=("<a@x>", "<b@x>", "<c@x>")), "EKBY")
    assert refs.message_ids == ("<c@x>", "<b@x>", "<a@x>")
    assert not thread_refs(PERSON, "EKBY")
