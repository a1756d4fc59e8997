"""Server-side sessions: the cookie holds a random token, the database its
hash, the user and the session's CSRF token. A new session at every login
(no fixation); idle sessions end."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cases.models import User, WebSession
from review.access import Person
from review.identity import person_of

IDLE = timedelta(hours=8)  # a working day
COOKIE = "synpunkt_session"


@dataclass(frozen=True, slots=True)
class Current:
    person: Person
    csrf: str


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(session: Session, person: Person, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id=_key(token), user_id=person.id, csrf=secrets.token_urlsafe(32),
                           created_at=now, last_seen_at=now))
    return token


def find_session(session: Session, token: str | None, now: datetime) -> Current | None:
    if not token or len(token) > 100:
        return None
    row = session.get(WebSession, _key(token))
    if row is None:
        return None
    if now - row.last_seen_at > IDLE:
        session.delete(row)
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return Current(person_of(user), row.csrf)


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.id == _key(token)))


def close_all(session: Session, user_id: int) -> None:
    """Every session of a user ends (a changed password, a removed user)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
