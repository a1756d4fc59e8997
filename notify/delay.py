"""The delay notice to the sender past a deadline that promises one
(Hässelby-Vällingby: "past it, a delay notice to the sender with the
reason"). Rendered from the kommun's templates; no I/O."""

from __future__ import annotations

from datetime import date, datetime

from config.kommun import Kommun
from notify.gsm7 import encode
from notify.mail import OutgoingMail, new_message_id
from notify.sms import OutgoingSms
from notify.swedish import day_and_month, first_name, long_date

DEFAULT_REASON = ("Utredningen av ditt ärende tar längre tid än vi räknade med. Den som "
                  "ansvarar för frågan arbetar med den.")


def render_delay_notice(kommun: Kommun, diarienummer: str, recipient: str,
                        display_name: str | None, description: str, due: date,
                        reason: str | None, now: datetime) -> OutgoingMail:
    k = kommun.organisation.kommun
    context = {
        "kommun": k.namn, "funktionsbrevlada": k.funktionsbrevlada,
        "diarienummer": diarienummer, "fornamn": first_name(display_name),
        "beskrivning": description, "datum": long_date(due),
        "orsak": reason or DEFAULT_REASON,
    }
    subject = kommun.templates.get_template("forseningsbesked.subject.j2").render(context)
    text = kommun.templates.get_template("forseningsbesked.txt.j2").render(context)
    return OutgoingMail(sender_name=k.namn, sender=k.funktionsbrevlada, recipient=recipient,
                        subject=" ".join(subject.split()), text=text,
                        message_id=new_message_id(k.doman), date=now)


def render_delay_sms(kommun: Kommun, diarienummer: str, phone: str, due: date,
                     reason: str | None) -> OutgoingSms:
    """The delay notice for a sender who wrote by SMS."""
    context = {"kommun": kommun.organisation.kommun.namn, "diarienummer": diarienummer,
               "datum": day_and_month(due), "orsak": reason or DEFAULT_REASON}
    text = " ".join(kommun.templates.get_template("forseningsbesked.sms.j2").render(context)
                    .split())
    encoded = encode(text)
    return OutgoingSms(phone, encoded.text, encoded.encoding, encoded.segments)
