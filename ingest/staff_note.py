"""A member of staff's mail that writes down what a person said: a phone
call, a visit, a complaint made in person (a tjänsteanteckning).

Every routine has staff write oral complaints down and send them on
(Söderköping 000:42 "Skicka den inkomna synpunkten/klagomålet till
registratorn för diarieföring"; Hässelby-Vällingby 002:203 "Muntliga
synpunkter/klagomål ska skrivas ner i form av tjänsteanteckning"), and only
with the person's consent (Söderköping 000:41, Socialnämnden 004:17). Such a
mail is the same thing as a registration by hand (ingest.by_hand): the case
is the person's, the mottagningsbevis goes to the contact details the note
gives (or nowhere), never to the member of staff. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.address import valid_address
from ingest.message import Channel, Message
from ingest.sms.phone import e164

_ORAL = re.compile(
    r"\b(?:muntlig[a-z]*\s+(?:klagomål|synpunkt\w*|framfört)|muntligen|tjänsteanteckning\w*"
    r"|framför\w*\s+(?:muntligt|per telefon|i telefon)|ringde\s+(?:in|hit|till\s+\w+)"
    r"|telefonsamtal|i\s+telefon\s+i\s+dag|besökte\s+\w+|var\s+här\s+(?:i\s+dag|idag))",
    re.IGNORECASE)
_PHONE_WORDS = re.compile(r"\b(?:ringde|telefon\w*|per telefon|samtal)", re.IGNORECASE)
_VISIT_WORDS = re.compile(r"\b(?:besök\w*|kom in|var här|i receptionen|på plats)", re.IGNORECASE)
_CONSENT = re.compile(r"\b(?:samtyck\w*|godkänn\w*|godkän[dt]\w*|medgiv\w*|medgav|gick med på"
                      r"|gett sitt ok|okej att|ok att)", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:inte|ej|ingen|inget|utan|saknas|nej|vill inte|avböj\w*)\b",
                       re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\d-])(?:\+46|0)[\d -]{6,14}\d")
_NAME = re.compile(r"^\s*(?:namn|klagande|kontakt(?:person)?|anhörig)\s*:\s*(.+?)\s*$",
                   re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class StaffNote:
    """What the note says about the person and how they came to the kommun."""

    channel: Channel  # telefon, besok or muntlig
    consent: bool
    email: str | None
    phone: str | None
    name: str | None
    written_by: str  # the staff member's address


def written_down(message: Message, staff_address: bool) -> StaffNote | None:
    """The note ``message`` is, when a member of staff (``staff_address``)
    wrote down an oral complaint; None for every other mail."""
    if not staff_address or message.sender is None or message.forwarded_by is not None:
        return None
    said = f"{message.subject}\n{message.text}"
    if not _ORAL.search(said):
        return None
    channel = (Channel.TELEFON if _PHONE_WORDS.search(said)
               else Channel.BESOK if _VISIT_WORDS.search(said) else Channel.MUNTLIG)
    email = next((a.lower() for a in _ADDRESS.findall(message.text)
                  if a.lower() != message.sender and valid_address(a)), None)
    phone = next((n for n in (e164(p) for p in _PHONE.findall(message.text)) if n), None)
    named = _NAME.search(message.text)
    return StaffNote(channel, _consents(said), email, None if email else phone,
                     named.group(1)[:200] if named else None, message.sender)


def _consents(text: str) -> bool:
    """Whether the note says the person agreed to it being written down:
    a consent word, and no negation in the same sentence before it."""
    for sentence in re.split(r"(?<=[.!?\n])\s*", text):
        found = _CONSENT.search(sentence)
        if found is not None and not _NEGATION.search(sentence[:found.start() + 1]):
            return True
    return False
