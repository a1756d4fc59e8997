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

from sqlalchemy.orm import Session

from cases import audit
from cases.inbound import finish, store_raw
from cases.models import Inbound, InboundStatus
from ingest.by_hand import Entry, from_raw
from ingest.message import Quarantine
from service.app import App
from service.intake import Outcome, register_message

SOURCE = "for-hand"


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
    outcome = register_message(app, session, [row], entry.message())
    audit.record(session, entry.taken_by, "case.registered_by_hand", case_id=outcome.case_id,
                 inbound_id=row.id, channel=str(entry.channel))
    if entry.consent:  # an oral complaint is refused without it (ingest.by_hand.entry)
        audit.record(session, entry.taken_by, "case.consent", case_id=outcome.case_id,
                     channel=str(entry.channel))
    return outcome
