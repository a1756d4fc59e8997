"""Is this automatic mail? RFC 3834 and what the helpdesk peers learned.

Automatic mail (out-of-office, bounces, delivery reports, newsletters, our
own receipts coming back) gets no case and no mottagningsbevis; it is kept
as ``ignored`` with the reason, visible to the registrator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.message import Message

SYSTEM_LOCALPARTS = frozenset({
    "mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply",
    "do-not-reply", "do_not_reply", "bounce", "bounces",
})
OWN_MESSAGE_ID_PREFIX = "synpunkt."


@dataclass(frozen=True, slots=True)
class Screened:
    code: str
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"


def own_message_id(message_id: str | None, domain: str) -> bool:
    """True for a Message-ID that Synpunkt made (see notify.mime.new_message_id)."""
    if not message_id:
        return False
    pattern = rf"<{re.escape(OWN_MESSAGE_ID_PREFIX)}[^@>]+@{re.escape(domain)}>"
    # ASCII only: under Unicode case folding the Kelvin sign matches "k" and
    # the long s "s", so a lookalike id would pass for ours.
    return re.fullmatch(pattern, message_id, re.IGNORECASE | re.ASCII) is not None


def own_address(sender: str | None, own_addresses: frozenset[str]) -> bool:
    """True only for one of our addresses exactly, in plain ASCII (a sender
    lower-cased from ``EKBY`` with a Kelvin sign would otherwise equal ours)."""
    return sender is not None and sender.isascii() and sender in own_addresses


def screen(message: Message, own_domain: str, own_addresses: frozenset[str]) -> Screened | None:
    """The reason ``message`` is automatic, or None for a message from a person."""
    if own_message_id(message.message_id, own_domain):
        return Screened("own-message-id", f"vårt eget utgående meddelande {message.message_id}")
    if own_address(message.sender, own_addresses):
        return Screened("own-address", f"avsändaren är vår egen adress {message.sender}")
    auto = (message.header("auto-submitted") or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return Screened("auto-submitted", f"automatiskt meddelande (Auto-Submitted: {auto})")
    if message.content_type == "multipart/report":
        return Screened("delivery-report", "leveransrapport eller studs (multipart/report)")
    for name, code in (("x-autoreply", "x-autoreply"), ("x-autorespond", "x-autorespond")):
        value = message.header(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return Screened(code, f"autosvar ({name}: {value[:40]})")
    precedence = (message.header("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return Screened("precedence", f"massutskick (Precedence: {precedence})")
    if message.header("list-id") is not None:
        return Screened("list-id", "e-postlista eller nyhetsbrev (List-Id)")
    if message.header("list-unsubscribe") is not None:
        return Screened("list-unsubscribe", "nyhetsbrev (List-Unsubscribe)")
    if message.return_path is not None and message.return_path.strip() in ("<>", ""):
        return Screened("empty-return-path", "tom Return-Path (studs eller systembrev)")
    local = (message.sender or "").split("@")[0]
    if local in SYSTEM_LOCALPARTS:
        return Screened("system-sender", f"systemavsändare ({local})")
    return None
