"""Mail to the kommun's own people about a new case (pure: no I/O).

The chef of the enhet a case is routed to gets a notice; the recipients a
rule or a routine adds (`notify`) get one too, and an urgent decision
(a possible serious incident) is marked urgent. Where an enskild utförare
runs the enhet, the kommun's responsible chef is asked to forward the case
with a date for the utförare's återkoppling. The message text is included,
with personnummer and other sensitive spans masked; a case marked
`sekretess` carries no text at all, only where to read it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from classify.sensitive import find, mask
from config.kommun import Kommun
from config.organisation import REGISTRATOR, Enhet, Organisation, Person
from config.routines import COMPILATION
from config.words import Words
from deadlines.calendar import add_working_days, is_working_day, receipt_day
from deadlines.routine import Deadline, promises
from notify.mail import OutgoingMail, new_message_id
from notify.swedish import long_date
from routing.decision import Decision

ROLE_NAMES = {
    "enhetschef": "enhetschef", "sektorchef": "sektorchef", "forvaltningschef": "förvaltningschef",
    "registrator": "registrator", "avtalsansvarig": "avtalsansvarig", "upphandlare": "upphandlare",
    "kontaktperson": "kontaktperson för bevakning", "mas": "medicinskt ansvarig sjuksköterska",
    "mar": "medicinskt ansvarig för rehabilitering",
}
# What the chef should do about a flag; a flag without advice is only named
# (config.words.FLAG), as every flag's name is.
FLAG_WORDS = {
    "allvarlig_handelse": "möjlig allvarlig händelse (lex Sarah/lex Maria: bedöm i dag)",
    "overklagande": "avsändaren vill överklaga ett beslut: informera om hur och erbjud hjälp",
    "valfardsbrott": "möjligt välfärdsbrott eller avtalsbrott hos en utförare",
    "medborgarforslag": "medborgarförslag: registratorn startar rutinen för medborgarförslag",
    "sekretess": "innehåller sekretessuppgifter",
    "sammanstallning": "utförarens årliga sammanställning av synpunkter och klagomål: underlag "
                       "för uppföljningen av avtalet, inte ett eget klagomål",
}


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str
    roles: tuple[str, ...]  # why this person is told, e.g. ("enhetschef", "sektorchef")


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What a notice says about the case."""

    diarienummer: str
    category: str | None
    flags: frozenset[str]
    subject: str
    text: str
    received: datetime
    deadlines: tuple[Deadline, ...]
    url: str | None = None  # the case page in `synpunkt web`, when its address is known
    # False: anonymous, only forwarded to the enhet (Hässelby-Vällingby).
    diarieford: bool = True


def recipients(org: Organisation, decision: Decision, *, chef: bool = True) -> list[Recipient]:
    """Who is told about a case: the enhetschef of the enhet it is routed to
    (not the registrator: their queue is the review list; not with ``chef``
    False: the case is handed over in the chef's morning digest) and
    everyone the rules and routines name in `notify`, each address once."""
    found: dict[str, Recipient] = {}

    def add(email: str, name: str, role: str) -> None:
        email = email.lower()
        old = found.get(email)
        roles = old.roles if old and role in old.roles else (*old.roles, role) if old else (role,)
        found[email] = Recipient(email, old.name if old else name, roles)

    who = ([] if decision.enhet == REGISTRATOR or not chef else ["enhetschef"]) + list(
        decision.notify)
    for item in who:
        if "@" in item:
            add(item, item, "mottagare enligt regel")
            continue
        person = role_person(org, decision.enhet, item)
        if person is not None:
            add(person[0], person[1], ROLE_NAMES.get(item, item))
    return list(found.values())


def role_person(org: Organisation, enhet_id: str, role: str) -> tuple[str, str] | None:
    k = org.kommun
    if role == "registrator":
        return k.registrator.epost, k.registrator.namn
    if role == "upphandlare":
        return (k.upphandlare.epost, k.upphandlare.namn) if k.upphandlare else None
    if role in ("mas", "mar"):
        person = k.mas if role == "mas" else k.mar
        return (person.epost, person.namn) if person else None
    for forv, sektor, enhet in org.enheter():
        if enhet.id != enhet_id:
            continue
        if role == "enhetschef":
            return enhet.chef.epost, enhet.chef.namn
        if role == "avtalsansvarig":
            person = enhet.avtalsansvarig or enhet.chef
            return person.epost, person.namn
        if role == "kontaktperson":
            person = (sektor.kontaktperson if sektor else None) or forv.kontaktperson
            return (person.epost, person.namn) if person else None
        if role == "sektorchef" and sektor is not None:
            return sektor.chef.epost, sektor.chef.namn
        if role in ("sektorchef", "forvaltningschef"):
            return forv.chef.epost, forv.chef.namn
    # No enhet yet (the registrator routes it by hand): an alert still reaches a person.
    if role in ("enhetschef", "sektorchef", "avtalsansvarig"):
        return k.registrator.epost, k.registrator.namn
    return None


def utforare_date(received_day: date, deadlines: Sequence[Deadline]) -> date:
    """When an enskild utförare must report back to the kommun's chef: half way
    to the case's first deadline, so the chef can still answer in time."""
    if not deadlines:
        return add_working_days(received_day, 5)
    first = min(d.due for d in deadlines)
    span = sum(1 for n in range((first - received_day).days)
               if is_working_day(date.fromordinal(received_day.toordinal() + n + 1)))
    return add_working_days(received_day, max(1, span // 2))


def render_notices(kommun: Kommun, case: CaseFacts, decision: Decision,
                   now: datetime, *, chef: bool = True) -> list[OutgoingMail]:
    """The notices to the people ``recipients`` names (``chef``: as there)."""
    org = kommun.organisation
    enhet = org.enhet(decision.enhet)
    words = Words(kommun)
    out = []
    for person in recipients(org, decision, chef=chef):
        urgent = decision.urgent
        lead = "BRÅDSKANDE: " if urgent else ""
        where = words.enhet(decision.enhet)
        subject = f"{lead}Nytt ärende {case.diarienummer} till {where}"
        if not case.diarieford:
            subject = f"{lead}Anonymt ärende till {where} ({case.diarienummer.lower()})"
        if "enhetschef" not in person.roles:
            subject = f"{lead}För kännedom: ärende {case.diarienummer} ({where})"
        text = _body(kommun, words, case, decision, person, enhet, urgent)
        out.append(staff_mail(kommun, person.email, subject, text, now, urgent=urgent))
    return out


def staff_mail(kommun: Kommun, recipient: str, subject: str, text: str, now: datetime,
               *, urgent: bool = False) -> OutgoingMail:
    """Mail from Synpunkt to the kommun's own people: generated, not an
    auto-reply, and not counted by the citizens' auto-reply limit."""
    k = kommun.organisation.kommun
    return OutgoingMail(sender_name=f"Synpunkt, {k.namn}", sender=k.funktionsbrevlada,
                        recipient=recipient, subject=subject, text=text,
                        message_id=new_message_id(k.doman), date=now, automatic=False,
                        auto_submitted="auto-generated", urgent=urgent)


def case_note(kommun: Kommun, recipient: Person, subject: str, said: Sequence[str],
              where: str, now: datetime) -> OutgoingMail:
    """A short note to one person about a case: a greeting, what happened,
    where to read the case (its page, or the command that shows it)."""
    body = [f"Hej {recipient.namn.split()[0]}!", "", *said, "", f"Ärendet: {where}", "",
            f"Synpunkt, {kommun.organisation.kommun.namn}", ""]
    return staff_mail(kommun, recipient.epost, subject, "\n".join(body), now)


def message_copy(subject: str, text: str, flags: Collection[str]) -> list[str]:
    """The message itself in a note to staff: personnummer and the like
    masked, and never a text the case keeps under sekretess."""
    if "sekretess" in flags:
        return ["Meddelandet innehåller uppgifter som kan omfattas av sekretess och skickas "
                "därför inte med här. Läs det i Synpunkt under diarienumret ovan."]
    subject = mask(subject, find(subject))
    return ["Meddelandet (personnummer och liknande är maskerade):", "",
            *([f"Ämne: {subject}"] if subject else []), mask(text, find(text)).strip()]


def _kind(case: CaseFacts) -> str:
    if COMPILATION in case.flags:
        return Words.flag(COMPILATION)
    return Words.category(case.category) if case.category else "obestämd (registratorn avgör)"




def _body(kommun: Kommun, words: Words, case: CaseFacts, decision: Decision,
          person: Recipient, enhet: Enhet | None, urgent: bool) -> str:
    k = kommun.organisation.kommun
    roles = " och ".join(person.roles)
    lines = [f"Hej {person.name.split()[0]}!", ""]
    if urgent:
        lines += ["Det här ärendet kan gälla en allvarlig händelse. Läs det i dag och bedöm om "
                  "det ska anmälas enligt lex Sarah eller lex Maria.", ""]
    lines += [f"Du får det här som {roles}.", ""]
    if not case.diarieford:
        lines += ["Avsändaren har inte lämnat några kontaktuppgifter. Enligt rutinen "
                  "diarieförs ärendet inte utan vidarebefordras till er för sammanställning, "
                  "analys och eventuell åtgärd. Ingen återkoppling kan ges.", ""]
    lines += [f"{'Diarienummer' if case.diarieford else 'Referens'}: {case.diarienummer}",
              f"Kategori: {_kind(case)}",
              f"Mottagare: {words.enhet(decision.enhet)}",
              f"Varför hit: {words.why(decision.explanation, decision.rule)}"]
    notes = [FLAG_WORDS.get(f) or words.flag(f) for f in sorted(case.flags)]
    if notes:
        lines.append("Att tänka på: " + "; ".join(notes) + ".")
    # Not promised: nobody to promise it to, or a message that is promised nothing
    # (deadlines.routine.promises), such as beröm or a medborgarförslag.
    unpromised = (" (Verksamhetens egen frist: avsändaren lämnade inga kontaktuppgifter och "
                  "har inte lovats något.)" if promises(case.category, case.flags) else
                  " (Verksamhetens egen frist: avsändaren har inte lovats något datum.)")
    for d in case.deadlines:
        lines.append(f"Tidsfrist: {d.description} senast {long_date(d.due)}."
                     + ("" if d.promised else unpromised))
    if enhet is not None and enhet.utforare is not None and "enhetschef" in person.roles:
        u = enhet.utforare
        day = utforare_date(receipt_day(case.received), case.deadlines)
        lines += ["", f"{enhet.namn} drivs av {u.namn} ({u.typ} utförare). Skicka ärendet "
                  f"vidare till utföraren ({u.epost}) och be om återkoppling till dig senast "
                  f"{long_date(day)}. Kommunen svarar avsändaren."]
    if case.url:
        lines.append(f"Öppna ärendet: {case.url}")
    lines.append("")
    lines += message_copy(case.subject, case.text, case.flags)
    lines += ["", f"Synpunkt, {k.namn}",
              "Svara inte på det här mejlet; kontakta registratorn om något är fel: "
              f"{k.registrator.epost}"]
    return "\n".join(lines) + "\n"
