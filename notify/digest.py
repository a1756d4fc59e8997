"""The morning digest to chefs: cases due soon or overdue (pure: no I/O).

A chef gets at most one digest per working morning, listing their own
enhet's open deadlines that fall within the routine's reminder lead
(`påminnelse_arbetsdagar`, 2 by default) or have passed. A passed deadline is an escalation: the
sektorchef (the förvaltningschef where the enhet has no sektor) gets it in
their own digest. Nothing goes out on weekends, holidays or before the
digest hour; what would have gone then waits for the next working morning.

It also hands a chef the new cases of their enhet that could wait for it
(a routine's `till_chefen: sammanställning`), and lists, for kännedom, the
new cases the recipient's role is told of under a routine that says
`kännedom: sammanställning` (a sektorchef of each klagomål, the MAS): one
mail a morning rather than one a case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from config.kommun import Kommun
from config.organisation import Organisation, Person
from config.words import Words
from deadlines.calendar import STOCKHOLM, add_working_days, is_working_day
from notify.mail import OutgoingMail, new_message_id
from notify.notices import ROLE_NAMES
from notify.swedish import long_date

DIGEST_TIME = time(8, 0)
HANDOVER = "enhetschef"  # the role a new case is handed over to in the digest


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    """One deadline of an open case, as the digest shows it."""

    case_id: int
    diarienummer: str
    enhet: str
    kind: str
    description: str
    due: date
    urgent: bool = False
    lead: int = 2  # arbetsdagar before ``due`` that the chef is reminded (the routine's)


@dataclass(frozen=True, slots=True)
class NewCase:
    """A case registered since the last digest that the recipient is told of."""

    case_id: int
    diarienummer: str
    enhet: str
    category: str | None
    roles: tuple[str, ...]  # why the recipient is told, e.g. ("sektorchef",)
    first_due: date | None = None  # the case's first open deadline
    flags: tuple[str, ...] = ()

    @property
    def handed_over(self) -> bool:
        """The recipient is the enhet's chef, who is to handle the case."""
        return HANDOVER in self.roles


@dataclass(frozen=True, slots=True)
class Digest:
    recipient: Person
    day: date
    due_soon: tuple[OpenDeadline, ...]
    overdue: tuple[OpenDeadline, ...]  # the recipient's own enheter
    escalated: tuple[OpenDeadline, ...] = ()  # overdue in enheter under the recipient
    informed: tuple[NewCase, ...] = ()  # new cases handed over or for kännedom

    @property
    def handed_over(self) -> tuple[NewCase, ...]:
        return tuple(c for c in self.informed if c.handed_over)

    @property
    def for_knowledge(self) -> tuple[NewCase, ...]:
        return tuple(c for c in self.informed if not c.handed_over)

    @property
    def dedupe_key(self) -> str:
        return f"sammanstallning:{self.recipient.epost}:{self.day.isoformat()}"


def digest_day(now: datetime) -> date | None:
    """The day whose digest may go out at ``now``: a working day at or after
    the digest hour, Swedish time; None at night, on weekends and holidays."""
    local = now.astimezone(STOCKHOLM)
    if not is_working_day(local.date()) or local.time() < DIGEST_TIME:
        return None
    return local.date()


def next_digest_day(now: datetime) -> date:
    """The day of the first digest that lists a case registered at ``now``:
    today's if its hour has not come, else the next working day's."""
    local = now.astimezone(STOCKHOLM)
    day = local.date() + timedelta(days=1 if local.time() >= DIGEST_TIME else 0)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def can_wait_for_digest(now: datetime, first_due: date | None, lead: int) -> bool:
    """Whether a new case can be handed to its chef in the next morning
    digest: its first deadline lies beyond the reminder lead (arbetsdagar)
    from that morning, as a deadline the digest would not yet remind of."""
    return first_due is None or first_due > add_working_days(next_digest_day(now), lead)


def build_digests(org: Organisation, deadlines: Sequence[OpenDeadline], day: date,
                  informed: Sequence[tuple[Person, NewCase]] = ()) -> list[Digest]:
    """One digest per person with something to act on or to know of today."""
    soon: dict[str, list[OpenDeadline]] = defaultdict(list)
    late: dict[str, list[OpenDeadline]] = defaultdict(list)
    above: dict[str, list[OpenDeadline]] = defaultdict(list)
    people: dict[str, Person] = {}
    chefs = _chefs(org)
    for d in deadlines:
        if d.enhet not in chefs:
            continue
        chef, escalation = chefs[d.enhet]
        people[chef.epost] = chef
        if d.due < day:
            late[chef.epost].append(d)
            if escalation is not None and escalation.epost != chef.epost:
                people[escalation.epost] = escalation
                above[escalation.epost].append(d)
        elif d.due <= add_working_days(day, d.lead):
            soon[chef.epost].append(d)

    told: dict[str, dict[int, NewCase]] = defaultdict(dict)
    for person, case in informed:
        people.setdefault(person.epost, person)
        before = told[person.epost].get(case.case_id)
        roles = before.roles + tuple(r for r in case.roles if r not in before.roles) \
            if before else case.roles
        told[person.epost][case.case_id] = replace(case, roles=roles)

    def ordered(items: list[OpenDeadline]) -> tuple[OpenDeadline, ...]:
        return tuple(sorted(items, key=lambda d: (d.due, d.diarienummer)))

    return [Digest(people[e], day, ordered(soon[e]), ordered(late[e]), ordered(above[e]),
                   tuple(sorted(told[e].values(), key=lambda c: c.diarienummer)))
            for e in sorted(set(soon) | set(late) | set(above) | set(told))]


def digest_window_end(day: date) -> datetime:
    """New cases told of in ``day``'s digest: those registered before the
    digest hour that day (and not listed in an earlier digest)."""
    return datetime.combine(day, DIGEST_TIME, tzinfo=STOCKHOLM)


def _chefs(org: Organisation) -> dict[str, tuple[Person, Person | None]]:
    """Each enhet's chef and whom a breach escalates to."""
    out: dict[str, tuple[Person, Person | None]] = {}
    for forv, sektor, enhet in org.enheter():
        out[enhet.id] = (enhet.chef, sektor.chef if sektor else forv.chef)
    return out


def render_digest(kommun: Kommun, digest: Digest, now: datetime,
                  web: str | None = None) -> OutgoingMail:
    """The morning digest; with ``web`` (SYNPUNKT_PUBLIC_URL) its lines link
    to the case pages and it ends with a link to the chef's own view."""
    k = kommun.organisation.kommun
    words = Words(kommun)
    n = len(digest.due_soon) + len(digest.overdue) + len(digest.escalated)
    late = len(digest.overdue) + len(digest.escalated)
    mine, told = digest.handed_over, digest.for_knowledge
    said = ([f"{_new(len(mine))} till dig"] if mine else []) + (
        [f"{n} {'ärende' if n == 1 else 'ärenden'} att ta ställning till"] if n else []) + (
        [f"{_new(len(told))} för kännedom"] if told else [])
    lines = [f"Hej {digest.recipient.namn.split()[0]}!", "",
             f"Det här är Synpunkts sammanställning för {long_date(digest.day)}: "
             f"{_listed(said)}.", ""]
    if mine:
        lines += ["Nya ärenden till dig att handlägga:",
                  *[_new_line(words, c, web) for c in mine], ""]
    for title, items in (("Tidsfristen har passerat:", digest.overdue),
                         ("Tidsfristen har passerat i en enhet under dig (du får det här "
                          "eftersom fristen är överskriden):", digest.escalated),
                         ("Tidsfristen går ut snart:", digest.due_soon)):
        if items:
            lines += [title, *[_line(words, d, digest.day, web) for d in items], ""]
    if told:
        lines += ["Nya ärenden sedan förra sammanställningen, för kännedom (enhetens chef "
                  "handlägger dem):", *[_new_line(words, c, web) for c in told], ""]
    if (n or mine) and web:
        lines += [f"Alla ärenden med närmaste frist först: {web}/enhet", "",
                  "När avsändaren har fått återkoppling: registrera det i ärendet, så upphör "
                  "påminnelserna.", ""]
    elif n or mine:
        lines += ["När avsändaren har fått återkoppling: registrera det, så upphör "
                  "påminnelserna", "(synpunkt cases feedback ID --note TEXT).", ""]
    lines.append(f"Synpunkt, {k.namn}")
    parts = [f"{_new(len(mine))} till dig"] if mine else []
    if n:
        parts.append(f"{n} {'ärende' if n == 1 else 'ärenden'} med tidsfrist" + (
            f", varav {late} {'försenat' if late == 1 else 'försenade'}" if late else ""))
    if told:
        parts.append(f"{len(told)} {'nytt' if len(told) == 1 else 'nya'} för kännedom" if parts
                     else f"{_new(len(told))} för kännedom")
    subject = "Synpunkt: " + "; ".join(parts)
    return OutgoingMail(
        sender_name=f"Synpunkt, {k.namn}", sender=k.funktionsbrevlada,
        recipient=digest.recipient.epost, subject=subject, text="\n".join(lines) + "\n",
        message_id=new_message_id(k.doman), date=now, automatic=False,
        auto_submitted="auto-generated",
    )


def _line(words: Words, d: OpenDeadline, day: date, web: str | None) -> str:
    when = long_date(d.due)
    days = (day - d.due).days
    late = (f" ({days} {'dag' if days == 1 else 'dagar'} sen)" if days > 0
            else (" (i dag)" if days == 0 else ""))
    mark = " BRÅDSKANDE" if d.urgent else ""
    what = (d.description or words.deadline(d.kind)).rstrip(", ")  # a beskrivning may end in one
    return (f"- {d.diarienummer} ({words.enhet(d.enhet)}): {what}, "
            f"senast {when}{late}{mark} "
            + (f"{web}/cases/{d.case_id}" if web else f"[synpunkt cases show {d.case_id}]"))


def _new_line(words: Words, c: NewCase, web: str | None) -> str:
    what = words.category(c.category)
    if c.handed_over:  # the chef's own: what to mind, and the first deadline
        why = "".join(f", {words.flag(f)}" for f in c.flags)
        why += f", första frist {long_date(c.first_due)}" if c.first_due else ""
    else:
        why = ", du informeras som " + " och ".join(ROLE_NAMES.get(r, r) for r in c.roles)
    return (f"- {c.diarienummer} ({words.enhet(c.enhet)}): {what}{why} "
            + (f"{web}/cases/{c.case_id}" if web else f"[synpunkt cases show {c.case_id}]"))


def _new(count: int) -> str:
    return f"{count} {'nytt ärende' if count == 1 else 'nya ärenden'}"


def _listed(parts: Sequence[str]) -> str:
    """"a, b och c"."""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} och {parts[-1]}"
