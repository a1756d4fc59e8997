"""A private utförare's yearly compilation of its synpunkter och klagomål.

Söderköping 000:54: "Utförare som har avtal med socialnämnden ska
sammanställa alla inkomna synpunkter/klagomål och vidtagna åtgärder.
Sammanställningen skickas en gång per år till registratorn för
diarieföring." Such a mail is not a complaint of its own: it is registered
as what it is, kept out of the complaint routine and its statistics, and
listed in the report. Recognised by who sends it (an utförare named in
organisation.yaml, by address or by its domain) and what it says it is (a
sammanställning, årsrapport or redovisning of synpunkter or klagomål, in
the subject, the first lines or an attachment's name). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.organisation import Organisation
from ingest.message import Message

_WHAT = re.compile(r"sammanst[äa]ll|årsrapport|årsredovisning|redovisning|uppföljning", re.I)
_OF = re.compile(r"synpunkt|klagom[åa]l|avvikelse", re.I)
_HEAD = 800  # characters of the text read: a compilation says what it is at once


@dataclass(frozen=True, slots=True)
class Compilation:
    enhet: str  # the enhet the utförare runs for the kommun
    utforare: str  # the utförare's name

    @property
    def explanation(self) -> str:
        return (f"Sammanställning av synpunkter och klagomål från utföraren {self.utforare}, "
                "som ska diarieföras (inte ett eget klagomål).")


def recognise(message: Message, org: Organisation) -> Compilation | None:
    """The compilation ``message`` is, or None."""
    sender = (message.sender or "").lower()
    if "@" not in sender:
        return None
    said = " ".join((message.subject, message.text[:_HEAD],
                     *(a.filename or "" for a in message.attachments)))
    if not (_WHAT.search(said) and _OF.search(said)):
        return None
    for _, _, enhet in org.enheter():
        u = enhet.utforare
        if u is not None and _same_sender(sender, u.epost.lower()):
            return Compilation(enhet.id, u.namn)
    return None


def _same_sender(sender: str, known: str) -> bool:
    """The utförare's own address, or another address at its domain (the
    quality manager may send it, not the address the contract names)."""
    return sender == known or sender.rsplit("@", 1)[1] == known.rsplit("@", 1)[1]
