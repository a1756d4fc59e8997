"""Who may see and do what: pure functions, checked on the server for every
view and action (a chef's own enhet per organisation.yaml; restricted cases
only for the registrator and the enhet's chef)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    REGISTRATOR = "registrator"
    CHEF = "chef"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Person:
    """A logged-in user, as every view sees them."""

    id: int
    email: str
    role: Role
    enhet: str | None = None  # a chef's own enhet

    @property
    def actor(self) -> str:
        return f"user:{self.email}"


def may_see_case(person: Person, enhet: str, restricted: bool) -> bool:
    if person.role == Role.REGISTRATOR:
        return True
    if person.role == Role.CHEF:
        return person.enhet == enhet
    return not restricted  # an admin sees ordinary cases, not sekretess ones


def may_handle_case(person: Person, enhet: str) -> bool:
    """Record återkoppling, notes, close: the registrator and the enhet's chef."""
    return person.role == Role.REGISTRATOR or (person.role == Role.CHEF and person.enhet == enhet)


def may_return_case(person: Person, enhet: str) -> bool:
    """Send a misrouted case back to the registrator ("fel enhet"): the
    chef of the case's enhet only."""
    return person.role == Role.CHEF and person.enhet == enhet


def may_correct(person: Person) -> bool:
    """Change category, flags or enhet: the registrator's work."""
    return person.role == Role.REGISTRATOR


def may_see_personnummer(person: Person, enhet: str) -> bool:
    """Personnummer unmasked only for those who handle the case."""
    return may_handle_case(person, enhet)


def may_admin(person: Person) -> bool:
    return person.role == Role.ADMIN


def start_page(person: Person) -> str:
    return {Role.REGISTRATOR: "/inkorg", Role.CHEF: "/enhet", Role.ADMIN: "/admin"}[person.role]
