"""Adding, changing and switching off users: the one place both the command
line (`synpunkt users add`) and the admin's page go through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.models import User
from config.errors import PermanentError
from config.organisation import Organisation
from review.access import Role
from review.passwords import hash_password
from review.sessions import close_all


class UserError(PermanentError, ValueError):
    """A user that cannot be saved; the message says why, in Swedish."""


def put_user(session: Session, org: Organisation, email: str, role: str, enhet: str | None,
             password: str, actor: str, now: datetime) -> tuple[User, bool]:
    """Add the user, or change role, enhet and password of an existing one
    (ending every session of theirs). Returns the user and whether it is new."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise UserError("inte en e-postadress")
    if role not in {r.value for r in Role}:
        raise UserError(f"okänd roll {role!r}")
    enhet = enhet or None
    if role == Role.CHEF and enhet is None:
        raise UserError("en chef behöver en enhet")
    if enhet is not None and org.enhet(enhet) is None:
        raise UserError(f"enheten {enhet!r} finns inte i organisation.yaml")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    user = session.scalar(select(User).where(User.email == email))
    created = user is None
    if user is None:
        user = User(email=email, role=role, enhet=enhet, password_hash=hashed, created_at=now)
        session.add(user)
        session.flush()
    else:
        user.role, user.enhet, user.password_hash, user.active = role, enhet, hashed, True
        user.failed_logins, user.locked_until = 0, None
        close_all(session, user.id)
    audit.record(session, actor, "user.added" if created else "user.changed", at=now,
                 user_id=user.id, role=role, enhet=enhet)
    return user, created


def set_active(session: Session, user_id: int, active: bool, actor: str, now: datetime) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserError("användaren finns inte")
    user.active = active
    if not active:
        close_all(session, user.id)
    audit.record(session, actor, "user.activated" if active else "user.deactivated", at=now,
                 user_id=user.id)
    return user
