"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's second
recommended parameter set)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 12


@cache
def _dummy() -> str:
    """Verifying against this when the user does not exist takes as long as a
    real check: the answer's timing does not tell which e-mail addresses are
    users. Made on first use (an argon2 hash costs 0.1 s and 64 MiB: not at
    every command's start)."""
    return _HASHER.hash("synpunkt-dummy-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"lösenordet ska ha minst {MIN_LENGTH} tecken")
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)
