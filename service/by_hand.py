"""Registration by hand: a letter, a phone call, a visit or a complaint made
in person, written down by the registrator or another member of staff.

The entry is stored as an inbound row like every message (its raw bytes the
entry's JSON) and registered in the same transaction: the same triage,
routing, routine, deadlines and mottagningsbevis (to the address or number
the person left) as for mail. The consent to writing an oral complaint down
is recorded on the case.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from cases import audit
from cases.inbound import finish, store_raw
from cases.models import Case, Inbound, InboundStatus
from ingest.by_hand import Entry, from_raw
from ingest.message import Channel, Message, Quarantine
from ingest.staff_note import StaffNote
from notify.notices import staff_mail
from notify.outbox import queue_mail
from service.app import App
from service.intake import ACTOR, Outcome, register_message

SOURCE = "for-hand"
NO_CONSENT = ("muntligt-utan-samtycke: ett nedskrivet muntligt klagomål där det inte framgår att "
              "personen har samtyckt. Registrera det för hand med samtycke, eller behandla det "
              "igen när samtycket är bekräftat; den som skrev har fått veta det.")
CHANNEL_WORDS = {Channel.TELEFON: "per telefon", Channel.BESOK: "vid ett besök",
                 Channel.MUNTLIG: "muntligt"}


def register_by_hand(app: App, session: Session, entry: Entry) -> Outcome:
    """Store and register ``entry`` in the caller's transaction."""
    stored = store_raw(session, SOURCE, uuid.uuid4().hex, entry.to_raw(), channel=entry.channel,
                       received_at=entry.written_at, sender=entry.sender)
    return process_by_hand(app, session, stored.inbound_id)


def process_by_hand(app: App, session: Session, inbound_id: int) -> Outcome:
    """The way of one entry from its stored row (also when the pipeline meets
    one, after a registrator took it up again)."""
    row = session.get_one(Inbound, inbound_id, with_for_update=True)
    if row.status != InboundStatus.RECEIVED:
        return Outcome(inbound_id, row.status, row.reason, row.case_id)
    entry = from_raw(row.raw)
    if isinstance(entry, Quarantine):
        finish(session, row, InboundStatus.QUARANTINED, entry.reason)
        return Outcome(inbound_id, row.status, row.reason)
    return _register_entry(app, session, row, entry)


def _register_entry(app: App, session: Session, row: Inbound, entry: Entry) -> Outcome:
    outcome = register_message(app, session, [row], entry.message())
    audit.record(session, entry.taken_by, "case.registered_by_hand", case_id=outcome.case_id,
                 inbound_id=row.id, channel=str(entry.channel))
    if entry.consent:  # an oral complaint is refused without it (ingest.by_hand.entry)
        audit.record(session, entry.taken_by, "case.consent", case_id=outcome.case_id,
                     channel=str(entry.channel))
    return outcome


def register_written_down(app: App, session: Session, row: Inbound, message: Message,
                          note: StaffNote) -> Outcome:
    """A member of staff mailed what a person said (ingest.staff_note): the
    case is the person's, registered as by hand; the member of staff hears
    where it went. Without the person's consent it is not registered: it
    waits in quarantine, where the registrator takes it up again once the
    consent is confirmed (a release counts as that confirmation)."""
    now = app.clock()
    if not (note.consent or row.released):
        finish(session, row, InboundStatus.QUARANTINED, NO_CONSENT)
        told = _tell_staff(app, session, row, note.written_by, message.subject, [
            "Du har skickat ett muntligt framfört klagomål till "
            f"{app.kommun.organisation.kommun.funktionsbrevlada}, men det framgår inte att "
            "personen har gett sitt samtycke till att det skrivs ned.",
            "",
            "Enligt rutinen registreras det bara med personens samtycke. Fråga personen och "
            "skicka det igen med till exempel \"Personen har gett sitt samtycke.\" i texten, "
            "så registreras det. Registratorn har det under tiden i karantänen."], now)
        return Outcome(row.id, row.status, row.reason, notice_outbox_ids=told)
    entry = Entry(note.channel, message.text.strip() or message.subject, f"mail:{note.written_by}",
                  row.received_at, email=note.email, phone=note.phone, name=note.name,
                  subject=message.subject, consent=True)
    outcome = _register_entry(app, session, row, entry)
    audit.record(session, ACTOR, "case.note", case_id=outcome.case_id,
                 note=f"Nedskrivet av {note.written_by} och skickat med e-post"
                      + ("" if note.consent else "; samtycket bekräftat av registratorn"))
    how = f"{CHANNEL_WORDS.get(note.channel, str(note.channel))}, med personens samtycke"
    case = session.get_one(Case, outcome.case_id)
    said = ([f"Tack! Det du skrev ned har registrerats som ärende {case.diarienummer} ({how})."]
            if case.diarieford else
            [f"Tack! Det du skrev ned ({how}) har lämnats till enheten. Personen lämnade inga "
             "kontaktuppgifter, så enligt rutinen diarieförs det inte utan används i enhetens "
             f"sammanställning ({case.diarienummer})."])
    said.append(f"Mottagningsbeviset går till {entry.sender}." if entry.sender else
                "Utan kontaktuppgifter skickas inget mottagningsbevis och ingen återkoppling.")
    told = _tell_staff(app, session, row, note.written_by, message.subject, said, now)
    return replace(outcome, notice_outbox_ids=outcome.notice_outbox_ids + told)


def _tell_staff(app: App, session: Session, row: Inbound, recipient: str, subject: str,
                said: list[str], now: datetime) -> tuple[int, ...]:
    k = app.kommun.organisation.kommun
    mail = staff_mail(app.kommun, recipient, f"Ditt nedskrivna klagomål: {subject[:80]}".strip(),
                      "\n".join(["Hej!", "", *said, "", f"Synpunkt, {k.namn}", ""]), now)
    queued = queue_mail(session, mail, kind="underrattelse", dedupe_key=f"nedskrivet:{row.id}",
                        case_id=row.case_id, limit=app.auto_reply_limit, now=now)
    return () if queued is None else (queued,)
