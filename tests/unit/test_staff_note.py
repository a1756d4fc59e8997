"""A member of staff's mail that writes down an oral complaint (issue 23):
recognised, with its channel, consent and the person's contact details."""

from __future__ import annotations

import pytest

from ingest.message import Channel, Message
from ingest.staff_note import written_down

STAFF = "lena.ek@ekby.example"


def _mail(subject: str, text: str, sender: str = STAFF) -> Message:
    return Message(channel=Channel.EMAIL, sender=sender, display_name="Lena Ek",
                   subject=subject, text=text)


@pytest.mark.parametrize(("subject", "text", "channel", "consent"), [
    ("Muntligt klagomål från brukare",
     "Sven Holm ringde in i dag och är missnöjd med att matlådorna kommer kalla. Han har gett "
     "sitt godkännande till att jag skriver ned det.\nTelefon: 070-555 12 34",
     Channel.TELEFON, True),
    ("Tjänsteanteckning",
     "En anhörig var här i dag och framförde att hennes pappa inte fått hjälp med duschen på "
     "två veckor. Hon samtycker till att det registreras.", Channel.BESOK, True),
    ("Klagomål", "Muntligt klagomål vid hembesök: personen tycker att bemötandet var "
     "nedlåtande. Personen har inte gett sitt samtycke än, jag frågar i morgon.",
     Channel.MUNTLIG, False),
    ("Synpunkt framförd muntligt", "Brukaren framförde muntligt att trappan är hal. "
     "Godkänt att vi skriver ned det.", Channel.MUNTLIG, True),
])
def test_a_written_down_complaint(subject: str, text: str, channel: Channel,
                                  consent: bool) -> None:
    note = written_down(_mail(subject, text), staff_address=True)
    assert note is not None
    assert (note.channel, note.consent, note.written_by) == (channel, consent, STAFF)


def test_the_persons_contact_details_not_the_staff_members() -> None:
    note = written_down(_mail("Muntligt klagomål", (
        "Namn: Sven Holm\nE-post: sven.holm@example.se\nHan ringde i går om snöröjningen och "
        "har gett sitt samtycke. Svara gärna lena.ek@ekby.example om något är oklart.")), True)
    assert note is not None
    assert (note.email, note.phone, note.name) == ("sven.holm@example.se", None, "Sven Holm")
    by_phone = written_down(_mail("Telefonsamtal", "Ringde in om bygglovet, samtycke finns. "
                                  "Nås på 08-123 456 78."), True)
    assert by_phone is not None and by_phone.phone == "+46812345678" and by_phone.email is None


@pytest.mark.parametrize(("subject", "text", "staff"), [
    # a citizen's own mail about a phone call is the citizen's complaint
    ("Klagomål", "Jag ringde in i går och fick ett otrevligt bemötande.", False),
    # staff writing about something else
    ("Möte", "Kan vi flytta mötet om budgeten till torsdag?", True),
    ("Fråga", "Vet någon vem som har hand om parkbänkarna?", True),
])
def test_not_a_written_down_complaint(subject: str, text: str, staff: bool) -> None:
    sender = STAFF if staff else "sven.holm@example.se"
    assert written_down(_mail(subject, text, sender), staff_address=staff) is None
