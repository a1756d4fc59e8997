"""The inbound state machine: every change of an inbound row's status is
written here, each with its event in the audit log.

    received ──finish──> processed | ignored | quarantined
        ▲                              │             │
        └────────── take_up_again ─────┴─────────────┘

``store_raw`` is the first thing that happens to every message: the row is
``received`` (or ``ignored`` at once as a byte-for-byte second copy).
``finish`` ends it; ``mark`` and ``record_finish`` are its two halves for the
intake, which marks rows before it takes the diarienummer lock and records
their events after. ``quarantine_dead`` ends a row the workers gave up on.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import audit
from cases.db import insert_or_nothing
from cases.models import Inbound, InboundFingerprint, InboundStatus, utcnow

log = logging.getLogger(__name__)
ACTOR = "system:ingest"
_MSGID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]{1,990}>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Stored:
    inbound_id: int
    created: bool  # False: this (source, key) was stored before


def store_raw(
    session: Session, source: str, key: str, raw: bytes, channel: str = "email",
    received_at: datetime | None = None, skip_twins: bool = False,
    sender: str | None = None, sent_at: datetime | None = None,
) -> Stored:
    """Insert the raw bytes unless (source, key) is already stored. Identical
    bytes under another key are kept too, but marked ignored as a duplicate,
    so the same message never becomes two cases; with ``skip_twins`` (a rescan
    after a UIDVALIDITY change) they are not stored again at all."""
    existing = session.scalar(
        select(Inbound.id).where(Inbound.source == source, Inbound.source_key == key)
    )
    if existing is not None:
        return Stored(existing, created=False)
    digest = hashlib.sha256(raw).hexdigest()
    row = Inbound(
        source=source, source_key=key, channel=channel, raw=raw, sha256=digest,
        message_id=_message_id(raw), received_at=received_at or utcnow(),
        sender=sender, sent_at=sent_at,
    )
    twin = session.scalar(select(Inbound.id).where(Inbound.sha256 == digest).limit(1))
    if twin is not None and skip_twins:
        return Stored(twin, created=False)
    if twin is not None:
        row.status = InboundStatus.IGNORED
        row.reason = f"duplicate: samma brev som inkommande nr {twin} (byte för byte)"
    session.add(row)
    session.flush()
    audit.record(session, f"system:{source}", "inbound.stored", inbound_id=row.id,
                 status=row.status, size=len(raw))
    return Stored(row.id, created=True)


_SAME_KEY, _SAME_BYTES = -1, -2  # store_many: as a row new in the same batch


def store_many(
    session: Session, source: str, items: Sequence[tuple[str, bytes]],
    received_at: datetime | None = None, skip_twins: bool = False,
) -> list[Stored]:
    """``store_raw`` for each (key, raw) of ``items``, in order and with the
    same outcome, in a few statements for the lot (the listener stores a
    fetch of 50 mails in one transaction): one look for the keys already
    stored, one for the twins already stored, one INSERT, one for the events."""
    keys = list(dict.fromkeys(key for key, _ in items))
    digests = [hashlib.sha256(raw).hexdigest() for _, raw in items]
    known: dict[str, int] = {}
    twins: dict[str, int] = {}
    for start in range(0, len(items), 500):  # bounded IN lists
        known.update(session.execute(select(Inbound.source_key, Inbound.id).where(
            Inbound.source == source,
            Inbound.source_key.in_(keys[start:start + 500]))).all())
        twins.update(session.execute(select(Inbound.sha256, func.min(Inbound.id)).where(
            Inbound.sha256.in_(sorted(set(digests[start:start + 500])))
        ).group_by(Inbound.sha256)).all())
    at = received_at or utcnow()
    new: dict[str, Inbound] = {}  # key -> its new row, in order
    first: dict[str, Inbound] = {}  # digest -> the batch's first new row with it
    plan: list[Inbound | int] = []  # a new row, or the id already stored
    for (key, raw), digest in zip(items, digests, strict=True):
        earlier = twins.get(digest)
        if key in known or key in new:  # stored before, or earlier in this batch
            plan.append(known.get(key, _SAME_KEY))
            continue
        if skip_twins and (earlier is not None or digest in first):
            plan.append(earlier if earlier is not None else _SAME_BYTES)
            continue
        row = Inbound(source=source, source_key=key, channel="email", raw=raw, sha256=digest,
                      message_id=_message_id(raw), received_at=at)
        if earlier is not None:
            row.status = InboundStatus.IGNORED
            row.reason = f"duplicate: samma brev som inkommande nr {earlier} (byte för byte)"
        new[key] = row
        first.setdefault(digest, row)
        plan.append(row)
    session.add_all(new.values())
    session.flush()  # the ids, in one INSERT
    for row in new.values():
        twin = first[row.sha256]
        if twin is not row and row.reason is None:  # its twin came earlier in this batch
            row.status = InboundStatus.IGNORED
            row.reason = f"duplicate: samma brev som inkommande nr {twin.id} (byte för byte)"
        audit.record(session, f"system:{source}", "inbound.stored", inbound_id=row.id,
                     status=row.status, size=len(row.raw))
    out = []
    for (key, _raw), digest, entry in zip(items, digests, plan, strict=True):
        if isinstance(entry, Inbound):
            out.append(Stored(entry.id, created=True))
        elif entry == _SAME_KEY:
            out.append(Stored(new[key].id, created=False))
        elif entry == _SAME_BYTES:
            out.append(Stored(first[digest].id, created=False))
        else:
            out.append(Stored(entry, created=False))
    return out


def take_up_again(session: Session, inbound_id: int, actor: str) -> Inbound:
    """A person sends a set-aside message through the pipeline again. An
    ignored one (automatic, spam, a second copy) is released: it is taken as
    a person's message without being screened again; a quarantined one is
    parsed and screened anew (after a fix, say)."""
    row = session.get(Inbound, inbound_id, with_for_update=True)
    if row is None:
        raise LookupError(f"inkommande meddelande {inbound_id} finns inte")
    if row.status not in (InboundStatus.IGNORED, InboundStatus.QUARANTINED):
        raise ValueError(f"inkommande meddelande {inbound_id} är {row.status}; bara ignorerade "
                         "och meddelanden i karantän kan tas upp igen")
    previous = row.status
    row.released = previous == InboundStatus.IGNORED
    row.status, row.reason, row.processed_at = InboundStatus.RECEIVED, None, None
    row.case_id = None
    audit.record(session, actor, "inbound.released" if row.released else "inbound.reprocess",
                 inbound_id=row.id, previous=previous)
    return row


def finish(session: Session, row: Inbound, status: InboundStatus, reason: str | None,
           actor: str = ACTOR) -> None:
    """The row's end: processed (a case or a reply), ignored or quarantined."""
    mark(row, status, reason)
    record_finish(session, row, actor)


def mark(row: Inbound, status: InboundStatus, reason: str | None) -> None:
    """The row's end, on the row itself (its event comes with record_finish)."""
    row.status, row.reason, row.processed_at = status, reason, utcnow()


def record_finish(session: Session, row: Inbound, actor: str = ACTOR) -> None:
    """The event (and for all but processed rows, the log line) of a row's end."""
    reason = (row.reason or "").split(":")[0] or None
    audit.record(session, actor, f"inbound.{row.status}", inbound_id=row.id, case_id=row.case_id,
                 reason=reason)
    if row.status != InboundStatus.PROCESSED:
        log.info("inbound %s inbound_id=%s reason=%s", row.status, row.id, reason or "")


def quarantine_dead(session: Session, inbound_id: int, reason: str, actor: str) -> None:
    """The workers gave up on a row still ``received``: quarantined for a person."""
    row = session.get(Inbound, inbound_id, with_for_update=True)
    if row is not None and row.status == InboundStatus.RECEIVED:
        finish(session, row, InboundStatus.QUARANTINED, reason, actor)


def claim_fingerprint(session: Session, fingerprint: str, inbound_id: int) -> int | None:
    """Record ``inbound_id`` as the first copy of the mail with this
    fingerprint (ingest.fingerprint); returns the id of the earlier copy when
    one holds it. Two copies in two transactions at once: the second waits
    for the first's commit and then finds it."""
    conn = session.connection()
    if conn.scalar(insert_or_nothing(session, InboundFingerprint, "fingerprint", "inbound_id"),
                   {"fingerprint": fingerprint, "inbound_id": inbound_id}) is not None:
        return None  # ours now: the first copy (one statement, the common case)
    holder = conn.scalar(select(InboundFingerprint.inbound_id)
                         .where(InboundFingerprint.fingerprint == fingerprint))
    return None if holder in (None, inbound_id) else holder


def claim_fingerprints(session: Session, wanted: dict[int, str]) -> dict[int, int | None]:
    """``claim_fingerprint`` for a batch's mails (fingerprint by inbound id)
    in one statement: by inbound id, the earlier copy's id, or None for the
    first copy. Copies within the batch: the one with the lowest id is the
    first, as when each is claimed in turn. The fingerprints are inserted in
    their sorted order, so that two batches holding copies of the same
    mails wait for each other in one order rather than deadlock."""
    first_of: dict[str, int] = {}
    for inbound_id in sorted(wanted):
        first_of.setdefault(wanted[inbound_id], inbound_id)
    if not first_of:
        return {}
    conn = session.connection()
    ours = {fingerprint for fingerprint, _ in conn.execute(
        insert_or_nothing(session, InboundFingerprint, "fingerprint", "fingerprint", "inbound_id"),
        [{"fingerprint": f, "inbound_id": first_of[f]} for f in sorted(first_of)])}
    held = {fingerprint: holder for fingerprint, holder in conn.execute(
        select(InboundFingerprint.fingerprint, InboundFingerprint.inbound_id)
        .where(InboundFingerprint.fingerprint.in_(sorted(first_of.keys() - ours))))
    } if len(ours) < len(first_of) else {}
    claims: dict[int, int | None] = {}
    for inbound_id, fingerprint in wanted.items():
        holder = first_of[fingerprint] if fingerprint in ours else held.get(fingerprint)
        claims[inbound_id] = None if holder in (None, inbound_id) else holder
    return claims


def _message_id(raw: bytes) -> str | None:
    # Cut first: splitting all of a 40 MB message would copy it once more.
    head = raw[:65536].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    found = _MSGID.search(head)
    if found:
        return found.group(1).decode("ascii", "replace")
    return None


__all__ = ["Stored", "claim_fingerprint", "claim_fingerprints", "finish", "mark",
           "quarantine_dead", "record_finish", "store_raw", "take_up_again"]
