"""The deadlines a routine gives a case, counted the Swedish way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from config.routines import Rutin
from deadlines.calendar import add_calendar_days, add_working_days, receipt_day


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str
    due: date
    description: str


def deadlines_for(routine: Rutin, received: datetime, has_contact: bool) -> list[Deadline]:
    """The deadlines a case received at ``received`` gets under ``routine``."""
    day = receipt_day(received)
    out: list[Deadline] = []
    for frist in routine.frister:
        if frist.endast_med_kontaktuppgifter and not has_contact:
            continue
        if frist.enhet == "arbetsdagar":
            due = add_working_days(day, frist.antal)
        else:
            due = add_calendar_days(day, frist.antal)
        out.append(Deadline(frist.typ, due, frist.beskrivning))
    return sorted(out, key=lambda d: d.due)
