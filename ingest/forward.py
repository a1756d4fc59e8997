"""Who really wrote it: a citizen's mail that a member of staff (the växel,
another office) forwarded to the funktionsbrevlåda becomes a case from the
citizen, with the forwarder recorded, so that the mottagningsbevis goes to
the person who wrote.

A forward is found as an attached message (Outlook's "forward as
attachment", or a mail that is nothing but the forwarded one) or as the
header block mailers put above the forwarded text: Outlook in Swedish and
English ("Från: … Skickat: … Till: … Ämne: …", "-----Original Message-----"),
Gmail ("---------- Vidarebefordrat meddelande ---------"), Apple Mail
("Vidarebefordrat brev:", "Begin forwarded message:"), Thunderbird
("-------- Forwarded Message --------"). Only staff forwards count: a
citizen who forwards something keeps the case in their own name.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from ingest.address import first_address
from ingest.message import Message

_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:ursprungligt meddelande|original message|forwarded message"
    r"|vidarebefordrat meddelande|vidarebefordrat brev|weitergeleitete nachricht"
    r"|message transf[ée]r[ée]|mensaje reenviado)\s*-{2,}"
    r"|(?:begin forwarded message|vidarebefordrat brev|början på vidarebefordrat brev)\s*:)\s*$",
    re.IGNORECASE | re.MULTILINE)
_FIELD = re.compile(r"^\s*\*?(från|from|von|de|skickat|sent|datum|date|gesendet|envoy[ée]"
                    r"|till|to|an|à|kopia|cc|ämne|subject|betreff|objet)\s*\*?\s*:\s*(.*)$",
                    re.IGNORECASE)
_SENDER_KEYS = frozenset({"från", "from", "von", "de"})
_SUBJECT_KEYS = frozenset({"ämne", "subject", "betreff", "objet"})
_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Forwarded:
    sender: str
    display_name: str | None
    subject: str
    text: str
    note: str  # what the forwarder wrote above the forward


def staff_domains(domains: Collection[str]) -> frozenset[str]:
    return frozenset(d.lower().lstrip("@") for d in domains)


def from_staff(sender: str | None, domains: frozenset[str]) -> bool:
    if sender is None:
        return False
    domain = sender.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in domains)


def original_of(message: Message, domains: frozenset[str]) -> Message:
    """The message as from the citizen whose mail staff forwarded; unchanged
    when it is not such a forward."""
    if not from_staff(message.sender, domains):
        return message
    found = _attached(message, domains) or _in_text(message.text, domains)
    if found is None:
        return message
    return replace(message, sender=found.sender, display_name=found.display_name,
                   subject=found.subject or message.subject, text=found.text,
                   forwarded_by=message.sender, forward_note=found.note)


def _attached(message: Message, domains: frozenset[str]) -> Forwarded | None:
    for inner in message.attached_messages:
        if inner.sender is not None and not from_staff(inner.sender, domains):
            note = message.text.split("----- Bifogat meddelande -----")[0].strip()
            return Forwarded(inner.sender, inner.display_name, inner.subject, inner.text, note)
    return None


def _in_text(text: str, domains: frozenset[str]) -> Forwarded | None:
    """The first forwarded header block in ``text`` naming a sender outside
    the staff's domains; blocks from staff (a forward of a forward) are
    passed through to the one below."""
    lines = text.split("\n")
    start = 0
    note_end: int | None = None
    while True:
        block = _next_block(lines, start)
        if block is None:
            return None
        head, fields, body_start = block
        note_end = head if note_end is None else note_end
        sender, name = first_address(_MAILTO.sub(r"<\1>", fields.get("from", "")))
        if sender is not None and not from_staff(sender, domains):
            return Forwarded(sender, name, fields.get("subject", ""),
                             "\n".join(lines[body_start:]).strip(),
                             "\n".join(lines[:note_end]).strip())
        start = body_start


def _next_block(lines: list[str], start: int) -> tuple[int, dict[str, str], int] | None:
    """(line where the block begins, its fields, first line after it) of the
    next forwarded header block at or after ``start``."""
    for i in range(start, len(lines)):
        separator = _SEPARATOR.match(lines[i]) is not None
        first = i + 1 if separator else i
        fields, end = _fields(lines, first)
        if "from" in fields and (separator or len(fields) >= 3):
            return i, fields, end
    return None


def _fields(lines: list[str], first: int) -> tuple[dict[str, str], int]:
    fields: dict[str, str] = {}
    i = first
    while i < len(lines) and not lines[i].strip() and i - first < 2:  # blanks after a separator
        i += 1
    while i < len(lines):
        found = _FIELD.match(lines[i])
        if found is None:
            break
        key = found.group(1).lower()
        kind = ("from" if key in _SENDER_KEYS else "subject" if key in _SUBJECT_KEYS
                else key)
        fields.setdefault(kind, found.group(2).strip())
        i += 1
    return fields, i
