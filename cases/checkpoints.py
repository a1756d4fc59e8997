"""IMAP checkpoints: per mailbox, the UIDVALIDITY and the highest UID stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cases.models import ImapCheckpoint, utcnow


@dataclass(frozen=True, slots=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


def load(session: Session, source: str) -> Checkpoint | None:
    row = session.get(ImapCheckpoint, source)
    return None if row is None else Checkpoint(row.uidvalidity, row.last_uid)


def save(session: Session, source: str, uidvalidity: int, last_uid: int) -> None:
    row = session.get(ImapCheckpoint, source, with_for_update=True)
    if row is None:
        session.add(ImapCheckpoint(source=source, uidvalidity=uidvalidity, last_uid=last_uid))
    elif row.uidvalidity != uidvalidity or last_uid > row.last_uid:
        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, utcnow()
