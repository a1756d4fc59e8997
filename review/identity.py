"""Who someone is: the replaceable seam between the web application and the
kommun's identity. Passwords (argon2, lockout); and a person the kommun's
identity provider vouched for (review/oidc.py), whose role and enhet come
from their groups and are written to the user table at every sign-in."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.models import User
from config.errors import PermanentError
from review.access import Person, Role
from review.oidc import Grant
from review.passwords import hash_password, needs_rehash, verify_password

LOCK_AFTER = 5  # failed attempts in a row ...
LOCK_FOR = timedelta(minutes=15)  # ... lock the account this long


class LockedOutError(PermanentError):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"kontot är låst till {until:%H:%M}")
        self.until = until


class IdentityProvider(Protocol):
    def authenticate(self, session: Session, email: str, password: str,
                     now: datetime) -> Person | None: ...


def person_of(user: User) -> Person:
    return Person(user.id, user.email, Role(user.role), user.enhet)


class PasswordIdentity:
    def authenticate(self, session: Session, email: str, password: str,
                     now: datetime) -> Person | None:
        """The person, None for a wrong address or password (the same answer
        for both), LockedOutError after LOCK_AFTER failures in a row."""
        user = session.scalar(select(User).where(User.email == email.strip().lower(),
                                                 User.active.is_(True)).with_for_update())
        if user is not None and user.locked_until is not None and user.locked_until > now:
            verify_password(None, password)  # the same time as a real check
            raise LockedOutError(user.locked_until)
        ok = verify_password(user.password_hash if user else None, password)
        if user is None:
            return None
        if not ok:
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until, user.failed_logins = now + LOCK_FOR, 0
                audit.record(session, f"user:{user.email}", "user.locked", at=now,
                             minutes=LOCK_FOR.total_seconds() / 60)
            return None
        user.failed_logins, user.locked_until = 0, None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        audit.record(session, f"user:{user.email}", "user.logged_in", at=now)
        return person_of(user)


def sign_in_vouched(session: Session, email: str, grant: Grant, now: datetime) -> Person | None:
    """A person the identity provider vouched for: their user row made at the
    first sign-in, its role and enhet set from their groups at every one.
    None when an admin has switched the user off (that stands)."""
    user = session.scalar(select(User).where(User.email == email).with_for_update())
    role, enhet = grant.role.value, grant.enhet
    if user is None:  # never a usable password: only the provider signs them in
        user = User(email=email, role=role, enhet=enhet, created_at=now,
                    password_hash=hash_password(secrets.token_urlsafe(32)))
        session.add(user)
        session.flush()
        audit.record(session, "oidc", "user.added", at=now, user_id=user.id, role=role,
                     enhet=enhet)
    if not user.active:
        return None
    if (user.role, user.enhet) != (role, enhet):
        user.role, user.enhet = role, enhet
        audit.record(session, "oidc", "user.changed", at=now, user_id=user.id, role=role,
                     enhet=enhet)
    audit.record(session, f"user:{user.email}", "user.logged_in", at=now, channel="oidc")
    return person_of(user)
