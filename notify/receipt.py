"""The mottagningsbevis: rendered from the kommun's templates, no I/O."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from config.kommun import Kommun
from config.organisation import ExternInstans
from config.routines import COMPILATION
from deadlines.routine import Deadline
from ingest.message import Message
from notify.mail import OutgoingMail, new_message_id
from notify.swedish import first_name, long_date

RE_PREFIX = ("re:", "sv:", "svar:", "vb:", "fw:", "fwd:", "aw:")


def render_receipt(
    kommun: Kommun,
    message: Message,
    diarienummer: str,
    deadlines: Sequence[Deadline],
    now: datetime,
    extern: ExternInstans | None = None,
    flags: Collection[str] = (),
    category: str | None = None,
    utforare: str | None = None,
    enhet: str | None = None,
) -> OutgoingMail:
    """The mottagningsbevis for ``message``. ``enhet``: the name of the enhet
    that handles it, once routing has decided (Nacka 001:54: the person is
    told who will handle it). ``utforare``: the private utförare that runs
    that enhet (Hässelby-Vällingby 002:207: told it goes on to the utförare)."""
    if message.sender is None:
        raise ValueError("a mottagningsbevis needs the sender's address")
    k = kommun.organisation.kommun
    context = {
        "kommun": k.namn,
        "funktionsbrevlada": k.funktionsbrevlada,
        "diarienummer": diarienummer,
        "fornamn": first_name(message.display_name),
        "amne": _clean_subject(message.subject),
        "frister": [{"beskrivning": d.description, "datum": long_date(d.due)} for d in deadlines
                    if d.promised],
        "extern": extern,
        # The routines: an appeal is not a synpunkt; say how to appeal, offer help.
        "overklagande": "overklagande" in flags,
        "berom": category == "berom",
        "medborgarforslag": "medborgarforslag" in flags,
        "sammanstallning": COMPILATION in flags,  # an utförare's yearly compilation
        "utforare": utforare,
        "enhet": enhet,
    }
    if context["sammanstallning"]:
        context["fornamn"] = ""  # a company, not a person
    subject = kommun.templates.get_template("mottagningsbevis.subject.j2").render(context)
    text = kommun.templates.get_template("mottagningsbevis.txt.j2").render(context)
    return OutgoingMail(
        sender_name=k.namn,
        sender=k.funktionsbrevlada,
        recipient=message.sender,
        subject=" ".join(subject.split()),
        text=text,
        message_id=new_message_id(k.doman),
        date=now,
        in_reply_to=message.message_id,
        references=message.references,
    )


def _clean_subject(subject: str) -> str:
    out = " ".join(subject.split())
    while out.lower().startswith(RE_PREFIX):
        out = out.split(":", 1)[1].strip()
    return out[:150]
