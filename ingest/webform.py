"""Mail from the kommun's e-tjänst (a web form): sent from a no-reply
address, with the citizen in Reply-To or in the form's fields. Such a mail
is a person's message, never automatic mail; its sender is the citizen,
and without a citizen address it is registered without a receipt."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ingest.address import first_address
from ingest.message import Channel, Message
from ingest.sms.phone import e164


@dataclass(frozen=True, slots=True)
class Form:
    """One e-tjänst as organisation.yaml describes it."""

    name: str
    sender: str  # the address it sends from
    email_fields: tuple[str, ...] = ("E-post", "E-postadress", "Epost")
    name_fields: tuple[str, ...] = ("Namn",)
    phone_fields: tuple[str, ...] = ("Telefon", "Telefonnummer", "Mobilnummer")


def form_of(message: Message, forms: Sequence[Form]) -> Form | None:
    return next((f for f in forms if message.sender == f.sender.lower()), None)


def citizen_of(message: Message, form: Form) -> Message:
    """The form's mail as from the citizen: Reply-To, else the form's e-mail
    field, else its phone field (answered by SMS); without any, no sender
    (registered, no receipt)."""
    fields = form_fields(message.text)
    address, name = None, None
    if message.reply_to and message.reply_to != message.sender:
        address = message.reply_to
    if address is None:
        for label in form.email_fields:
            address, _n = first_address(fields.get(label.lower()))
            if address is not None:
                break
    if address is None:  # only a phone number: the receipt goes by SMS
        address = next((number for k in form.phone_fields
                        if (number := e164(fields.get(k.lower()) or "")) is not None), None)
    name = next((fields[k.lower()] for k in form.name_fields if fields.get(k.lower())), None)
    return replace(message, channel=Channel.WEBFORM, sender=address, display_name=name)


_LABELLED = re.compile(r"^\s*([^\W\d][\w \-]{0,40}?)\s*[:\t]\s*(\S.*)$")


def form_fields(text: str) -> dict[str, str]:
    """``Label: value``, ``Label<TAB>value`` and a label on a line of its own
    with the value on the next: what form systems write, lower-case labels."""
    fields: dict[str, str] = {}
    lines = [line.strip() for line in text.split("\n")]
    for i, line in enumerate(lines):
        found = _LABELLED.match(line)
        if found:
            fields.setdefault(found.group(1).strip().lower(), found.group(2).strip())
        elif line and len(line) <= 40 and i + 1 < len(lines) and lines[i + 1] and (
                line.lower() not in fields):
            fields.setdefault(line.rstrip(":").lower(), lines[i + 1])
    return fields
