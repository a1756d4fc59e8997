"""The deadlines a routine gives a case, counted the Swedish way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from config.routines import Rutin
from deadlines.calendar import add_calendar_days, add_working_days, receipt_day


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str
    due: date
    description: str
    # Promised to the sender (in the mottagningsbevis, with a delay notice
    # where the routine gives one); False: the verksamhet's own deadline, as
    # for a case nobody can be told about (no contact details).
    promised: bool = True


# What is promised to the sender depends on what the message is. Praise is
# thanked, not answered with a complaint's promise (Essunga: "Tacka för
# synpunkten"); an appeal is not a synpunkt and is told how to appeal, with
# no återkoppling date the routines do not give (Söderköping: "Rutinen
# gäller inte ... överklagande av beslut"); a medborgarförslag has its own
# routine (Hässelby-Vällingby: "Medborgarförslag har en egen rutin").
NOTHING_PROMISED_FOR = frozenset({"berom", "overklagande", "medborgarforslag"})


def promises(category: str | None, flags: Iterable[str]) -> bool:
    """Does a message of this category and these flags get deadlines promised?"""
    return category not in NOTHING_PROMISED_FOR and not NOTHING_PROMISED_FOR & set(flags)


def deadlines_for(routine: Rutin, received: datetime, has_contact: bool,
                  promise: bool = True) -> list[Deadline]:
    """The deadlines a case received at ``received`` gets under ``routine``.
    Without contact details nothing can be promised to the sender: the
    deadlines the routine keeps then (those not ``endast_med_kontaktuppgifter``)
    are the verksamhet's own, for the chef's digest and reminders only; so
    are all of them when ``promise`` is False (see ``promises``)."""
    day = receipt_day(received)
    out: list[Deadline] = []
    for frist in routine.frister:
        if frist.endast_med_kontaktuppgifter and not has_contact:
            continue
        if frist.enhet == "arbetsdagar":
            due = add_working_days(day, frist.antal)
        else:
            due = add_calendar_days(day, frist.antal)
        out.append(Deadline(frist.typ, due, frist.beskrivning, promised=has_contact and promise))
    return sorted(out, key=lambda d: d.due)
