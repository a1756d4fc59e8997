"""The words a person reads for every id the program keeps.

One vocabulary for every page, mail, report, CSV and CLI table: categories,
flags and aspects as ../shared/ekby/labels.md defines them, channels,
statuses, priorities, outbox kinds and event kinds from one table here, and
enheter, external instances, routines and deadlines from the kommun's own
configuration (organisation.yaml, routines.yaml). Ids stay in URLs and in
``--json``; anything else shows ``Words``. An id nobody named is shown as it
is rather than hidden, so a missing word is seen and added here. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the type: config.kommun imports the whole configuration
    from config.kommun import Kommun

CATEGORY = {"klagomal": "klagomål", "synpunkt": "synpunkt", "berom": "beröm"}
FLAG = {
    "overklagande": "överklagande", "felanmalan": "felanmälan",
    "allvarlig_handelse": "möjlig allvarlig händelse", "extern": "annan myndighets fråga",
    "medborgarforslag": "medborgarförslag", "sekretess": "sekretess",
    "valfardsbrott": "möjligt välfärdsbrott", "sammanstallning": "sammanställning från utförare",
}
ASPECT = {"bemotande": "bemötande", "handlaggning": "handläggning", "kvalitet": "kvalitet",
          "tillganglighet": "tillgänglighet", "information": "information", "avgift": "avgift",
          "trygghet": "trygghet"}
CHANNEL = {"email": "e-post", "sms": "sms", "webform": "webbformulär", "brev": "brev",
           "telefon": "telefon", "besok": "besök", "muntlig": "muntligt"}
CASE_STATUS = {"open": "öppet", "feedback_given": "återkoppling lämnad", "closed": "avslutat"}
INBOUND_STATUS = {"received": "mottaget, väntar", "processed": "behandlat",
                  "ignored": "lagt åt sidan", "quarantined": "i karantän"}
OUTBOX_STATUS = {"pending": "väntar", "sending": "skickas", "sent": "skickat",
                 "failed": "misslyckades", "uncertain": "osäkert om det kom fram"}
PRIORITY = {"låg": "låg", "normal": "normal", "hög": "hög", "akut": "akut"}
OUTBOX_KIND = {"mottagningsbevis": "mottagningsbevis", "underrattelse": "underrättelse",
               "sammanstallning": "morgonsammanställning",
               "forseningsbesked": "besked om försening", "aterkoppling": "återkoppling",
               "bekraftelse": "bekräftelse"}
_OUTBOX_EVENT = {"queued": "köat", "sent": "skickat", "delivered": "levererat",
                 "failed": "kunde inte skickas", "uncertain": "oklart om det skickades",
                 "released": "avbrutet försök, skickas igen", "resend": "skickas igen",
                 "confirmed_sent": "bekräftat att det kom fram",
                 "reconciled": "avstämt mot sms-leverantören"}
EVENT = {
    "case.registered": "registrerat", "case.registered_by_hand": "registrerat för hand",
    "case.reply_received": "svar från avsändaren",
    "case.feedback_given": "återkoppling lämnad", "case.closed": "avslutat",
    "case.corrected": "rättat", "case.confirmed": "granskat och bekräftat",
    "case.note": "anteckning", "case.delay_reason": "orsak till försening",
    "case.consent": "samtycke till att klagomålet skrivs ned",
    "case.assigned": "handläggare utsedd", "case.rescheduled": "frister enligt ny rutin",
    "case.dissatisfied": "avsändaren är inte nöjd",
    "case.deidentified": "avidentifierat vid registreringen",
    "case.original_read": "originalet läst", "case.attachment_downloaded": "bilaga hämtad",
    "case.gallrad": "gallrat", "case.returned": "återlämnat till registratorn",
    "case.assessed": "möjlig allvarlig händelse bedömd",
    "case.told_in_digest": "tas med i morgonsammanställningen",
    "case.listed_in_digest": "med i morgonsammanställningen", "inbound.read": "meddelandet läst",
    "inbound.stored": "meddelandet sparat", "inbound.processed": "meddelandet behandlat",
    "inbound.released": "släppt ur karantän", "inbound.reprocess": "behandlas igen",
    "gallring.inbound": "gallrat", "config.saved": "reglerna sparade",
    "user.added": "användare tillagd", "user.activated": "användare aktiverad",
    "user.deactivated": "användare avstängd", "user.locked": "inloggning spärrad",
    "user.logged_in": "inloggad", "user.changed": "användare ändrad",
}
# Why input was set aside: the reason's code (before the colon) as words.
SET_ASIDE_REASON = {
    "duplicate": "kom två gånger", "empty": "tomt meddelande", "parse-error": "kunde inte tolkas",
    "too-large": "för stort", "too-deep": "för djupt nästlat",
    "unreadable-headers": "oläsliga brevhuvuden", "unreadable": "oläsligt",
    "internal-error": "fel i Synpunkt", "bad-entry": "felaktigt nedskrivet meddelande",
    "muntligt-utan-samtycke": "muntligt klagomål utan samtycke",
    "own-number": "sms från kommunens eget nummer", "sms-sender": "automatiskt sms",
    "sms-short-code": "automatiskt sms", "studs": "studs (kunde inte levereras)",
    "auto-reply": "autosvar", "auto-submitted": "automatiskt meddelande",
    "bounce": "studs (kunde inte levereras)", "delivery-report": "leveransrapport",
    "empty-return-path": "systembrev", "null-sender": "systemavsändare",
    "system-sender": "systemavsändare", "own-address": "från vår egen adress",
    "own-message-id": "vårt eget utgående meddelande", "precedence": "massutskick eller autosvar",
    "spam": "skräppost", "too-many-parts": "för många delar",
}
REGISTRATOR_WORD = "registratorn"


def event_word(kind: str) -> str:
    """An event kind in words: "mottagningsbevis.sent" → "mottagningsbevis: skickat"."""
    if kind in EVENT:
        return EVENT[kind]
    head, _, action = kind.partition(".")
    if head in OUTBOX_KIND and action in _OUTBOX_EVENT:
        return f"{OUTBOX_KIND[head]}: {_OUTBOX_EVENT[action]}"
    return kind


class Words:
    """The vocabulary with the kommun's own names in it."""

    def __init__(self, kommun: Kommun) -> None:
        org = kommun.organisation
        self._enhet = {e.id: e.namn for _, _, e in org.enheter()}
        self._forvaltning = {f.id: f.namn for f in org.forvaltningar}
        self._extern = {x.id: x.namn for x in org.externa_instanser}
        self._routine = {rid: r.namn for rid, r in kommun.routines.profiler.items()}
        self._deadline: dict[str, str] = {}
        for routine in kommun.routines.profiler.values():
            for frist in routine.frister:
                self._deadline.setdefault(frist.typ, frist.beskrivning)
        self._deadline.setdefault("allvarlig_bedomning",
                                  "bedömning av en möjlig allvarlig händelse")

    def enhet(self, enhet_id: str | None) -> str:
        if enhet_id in self._enhet:
            return self._enhet[enhet_id]
        if not enhet_id or enhet_id == "registrator":
            return REGISTRATOR_WORD
        return self._forvaltning.get(enhet_id, enhet_id)

    def extern(self, extern_id: str | None) -> str:
        return self._extern.get(extern_id or "", extern_id or "")

    def routine(self, routine_id: str | None) -> str:
        return self._routine.get(routine_id or "", routine_id or "")

    def deadline(self, kind: str) -> str:
        return self._deadline.get(kind, kind)

    @staticmethod
    def category(value: str | None) -> str:
        return CATEGORY.get(value or "", value or "ej bestämd")

    @staticmethod
    def flag(value: str) -> str:
        return FLAG.get(value, value)

    @staticmethod
    def flags(values: Iterable[str]) -> str:
        return ", ".join(FLAG.get(v, v) for v in values)

    @staticmethod
    def aspect(value: str) -> str:
        return ASPECT.get(value, value)

    @staticmethod
    def channel(value: str) -> str:
        return CHANNEL.get(value, value)

    @staticmethod
    def status(value: str) -> str:
        return CASE_STATUS.get(value, value)

    @staticmethod
    def inbound_status(value: str) -> str:
        return INBOUND_STATUS.get(value, value)

    @staticmethod
    def outbox_status(value: str) -> str:
        return OUTBOX_STATUS.get(value, value)

    @staticmethod
    def outbox_kind(value: str) -> str:
        return OUTBOX_KIND.get(value, value)

    @staticmethod
    def priority(value: str) -> str:
        return PRIORITY.get(value, value)

    @staticmethod
    def event(kind: str) -> str:
        return event_word(kind)

    def why(self, explanation: str, rule: str | None) -> str:
        """A routing explanation as a person reads it: the deciding rule by
        its description rather than its id ("Regel gata-park (…)" → "Regeln
        (…)"), the named word lists left out, every other id by its name."""
        if rule:
            explanation = explanation.replace(f"Regel {rule} (", "Regeln (", 1)
        return self.in_words(_WORD_LIST.sub("", explanation))

    def in_words(self, text: str) -> str:
        """``text`` (an explanation the program wrote) with every configured
        id in it by its name: "kategorin är klagomal" → "kategorin är
        klagomål". What stands in ”quotes” (the sender's own words, a rule's
        pattern) is left as it is."""
        names = {**CATEGORY, **FLAG, **CHANNEL, **self._routine, **self._extern,
                 **self._forvaltning, **self._enhet}
        parts = text.split("”")
        for i in range(0, len(parts), 2):
            parts[i] = _ID.sub(lambda m: names.get(m.group(0), m.group(0)), parts[i])
        return "”".join(parts)


_WORD_LIST = re.compile(r" \(listan? [^)]*\)")  # "(lista norr)": a word list's id
_ID = re.compile(r"(?<![\w./@-])[a-z][a-z0-9_]*(?:-[a-z0-9_]+)*(?![\w@-])")
