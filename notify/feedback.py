"""Återkoppling as the citizen receives it: what the chef wrote, sent from
Synpunkt on the case's channel (mail, or SMS to a number), with the
diarienummer, so that a reply comes back to the same case. Written by a
person, so not marked as an automatic reply (RFC 3834 ``Auto-Submitted: no``)
and not counted by the auto-reply limit. Pure: no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from config.kommun import Kommun
from config.organisation import Person
from notify.gsm7 import encode
from notify.mail import OutgoingMail, new_message_id
from notify.sms import OutgoingSms
from notify.swedish import first_name


def render_feedback_mail(kommun: Kommun, diarienummer: str, recipient: str,
                         display_name: str | None, text: str, signed: str,
                         now: datetime) -> OutgoingMail:
    k = kommun.organisation.kommun
    name = first_name(display_name)
    body = "\n".join([
        f"Hej{' ' + name if name else ''}!", "",
        text.strip(), "",
        f"Vill du svara? Svara på det här mejlet och låt diarienumret [{diarienummer}] stå "
        "kvar i ämnesraden, så hamnar svaret i samma ärende.", "",
        "Vänliga hälsningar",
        signed,
        k.namn,
        k.funktionsbrevlada, ""])
    return OutgoingMail(sender_name=k.namn, sender=k.funktionsbrevlada, recipient=recipient,
                        subject=f"Återkoppling på ditt ärende [{diarienummer}]", text=body,
                        message_id=new_message_id(k.doman), date=now, automatic=False,
                        auto_submitted="no")


def render_feedback_sms(kommun: Kommun, diarienummer: str, phone: str,
                        text: str) -> OutgoingSms:
    """The återkoppling by SMS: the chef's words and the diarienummer; as long
    as it must be (several segments), never cut."""
    k = kommun.organisation.kommun
    encoded = encode(f"{' '.join(text.split())} /{k.namn}, ärende {diarienummer}")
    return OutgoingSms(phone, encoded.text, encoded.encoding, encoded.segments, automatic=False)


def confirmation_text(diarienummer: str, handler: Person, enhet: str) -> str:
    """Essunga's bekräftelse: who handles the case, and how to reach them."""
    title = f", {handler.titel}," if handler.titel else ""
    reach = handler.epost + (f" eller {handler.telefon}" if handler.telefon else "")
    return (f"Ditt ärende {diarienummer} handläggs av {handler.namn}{title} på {enhet}. "
            f"Du når hen på {reach}.")


def render_confirmation_mail(kommun: Kommun, diarienummer: str, recipient: str,
                             display_name: str | None, handler: Person, enhet: str,
                             now: datetime) -> OutgoingMail:
    mail = render_feedback_mail(kommun, diarienummer, recipient, display_name,
                                confirmation_text(diarienummer, handler, enhet), enhet, now)
    return replace(mail, subject=f"Vem som handlägger ditt ärende [{diarienummer}]")
