"""The kommun's organisation (organisation.yaml): förvaltningar, sektorer, enheter
and the external instances a sender may be guided to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from config.yamlfile import YamlDocument, validate

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("inte en giltig e-postadress")
    return value.lower()


def _ident(value: str) -> str:
    if not _ID.match(value):
        raise ValueError("ett id skrivs med små bokstäver a-z, siffror och _")
    return value


def _count(value: int) -> int:
    if not 1 <= value <= 36500:
        raise ValueError("ett helt antal, minst 1 (högst 36500)")
    return value


Email = Annotated[str, AfterValidator(_email)]
Ident = Annotated[str, AfterValidator(_ident)]
Count = Annotated[int, AfterValidator(_count)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Person(_Model):
    namn: str
    epost: Email
    titel: str | None = None
    telefon: str | None = None  # given to the citizen in a bekräftelse naming the handläggare


class Utforare(_Model):
    typ: str
    namn: str
    epost: Email


class Enhet(_Model):
    id: Ident
    namn: str
    chef: Person
    ansvar: str
    utforare: Utforare | None = Field(default=None, alias="utförare")
    # Told of a possible välfärdsbrott; the chef when not given.
    avtalsansvarig: Person | None = None
    # Who may be assigned a case as its handläggare (Essunga: the bekräftelse
    # names the handläggare); the chef always may.
    handlaggare: list[Person] = Field(default=[], alias="handläggare")

    def handlers(self) -> list[Person]:
        return [self.chef, *(p for p in self.handlaggare if p.epost != self.chef.epost)]


class Sektor(_Model):
    id: Ident
    namn: str
    chef: Person
    enheter: list[Enhet]
    # Copied on every case for bevakning (Hässelby-Vällingby: "kontaktperson
    # från respektive avdelning på kopia"); the förvaltning's when not given.
    kontaktperson: Person | None = None


class Forvaltning(_Model):
    id: Ident
    namn: str
    chef: Person
    kontaktperson: Person | None = None
    sektorer: list[Sektor] = []
    enheter: list[Enhet] = []


class ExternInstans(_Model):
    id: Ident
    namn: str
    ansvar: str
    kontakt: str


class Kommun(_Model):
    namn: str
    doman: str = Field(alias="domän")
    funktionsbrevlada: Email = Field(alias="funktionsbrevlåda")
    sms_nummer: str
    registrator: Person
    kommundirektor: Person = Field(alias="kommundirektör")
    upphandlare: Person | None = None  # told of a possible välfärdsbrott
    # Medicinskt ansvarig sjuksköterska / för rehabilitering: told for kännedom
    # where a routine says so (Socialnämnden: "oftast Mas eller Mar").
    mas: Person | None = None
    mar: Person | None = None
    diarieprefix: str | None = None
    # Domains the kommun's staff write from (the domän is one): a citizen's
    # mail that staff forward to the funktionsbrevlåda is registered as the
    # citizen's, with the receipt to the citizen.
    personaldomaner: list[str] = Field(default=[], alias="personaldomäner")

    @property
    def staff_domains(self) -> list[str]:
        return [self.doman, *self.personaldomaner]

    @property
    def prefix(self) -> str:
        """The diarienummer prefix: configured, else the kommun's name's first word."""
        return (self.diarieprefix or self.namn.split()[0]).upper()


class Gallring(_Model):
    """The kommun's gallringsbeslut for this register (see README, "Gallring").

    Without a ``gallring:`` block nothing is gallrat: personal data in
    allmänna handlingar may only be destroyed under a decision of the kommun,
    so the program never picks a time for it.
    """

    # Months after a case is closed (avslutat) until its personal data is removed.
    arenden_manader: Count = Field(alias="ärenden_månader_efter_avslut")
    # Days until the raw bytes of ignored automatic mail (out-of-office, bounces,
    # newsletters; never a case) are emptied.
    automatisk_post_dagar: Count = 30
    # Quarantined input: None keeps it until a person has handled it; else days
    # until its raw bytes are emptied.
    karantan_dagar: Count | None = Field(default=None, alias="karantän_dagar")
    # Where the decision is recorded (dokumenthanteringsplan, diarienummer); shown and logged.
    beslut: str | None = Field(default=None, max_length=200)


class ETjanst(_Model):
    """A web form of the kommun's that sends what a citizen filled in by mail,
    from a no-reply address: its mail is a person's message, from the
    citizen in Reply-To or in the form's e-mail field."""

    namn: str
    avsandare: Email = Field(alias="avsändare")
    falt_epost: list[str] = Field(default=["E-post", "E-postadress", "Epost"],
                                  alias="fält_epost")
    falt_namn: list[str] = Field(default=["Namn"], alias="fält_namn")
    falt_telefon: list[str] = Field(default=["Telefon", "Telefonnummer", "Mobilnummer"],
                                    alias="fält_telefon")


class Organisation(_Model):
    kommun: Kommun
    forvaltningar: list[Forvaltning] = Field(alias="förvaltningar")
    externa_instanser: list[ExternInstans] = []
    gallring: Gallring | None = None
    e_tjanster: list[ETjanst] = Field(default=[], alias="e-tjänster")

    def enheter(self) -> Iterator[tuple[Forvaltning, Sektor | None, Enhet]]:
        for forv in self.forvaltningar:
            for sektor in forv.sektorer:
                for enhet in sektor.enheter:
                    yield forv, sektor, enhet
            for enhet in forv.enheter:
                yield forv, None, enhet

    def enhet(self, enhet_id: str) -> Enhet | None:
        return next((e for _, _, e in self.enheter() if e.id == enhet_id), None)

    def forvaltning_of(self, enhet_id: str) -> str | None:
        """The id of the förvaltning an enhet belongs to."""
        return next((f.id for f, _, e in self.enheter() if e.id == enhet_id), None)

    def next_chef_up(self, enhet_id: str) -> Person | None:
        """The enhetschef's own chef: the sektorchef, or the förvaltningschef
        where the enhet has no sektor (the organisation's escalation)."""
        found = next(((f, s) for f, s, e in self.enheter() if e.id == enhet_id), None)
        if found is None:
            return None
        forvaltning, sektor = found
        return sektor.chef if sektor is not None else forvaltning.chef

    def extern(self, extern_id: str) -> ExternInstans | None:
        return next((x for x in self.externa_instanser if x.id == extern_id), None)


REGISTRATOR = "registrator"


def load_organisation(doc: YamlDocument) -> Organisation:
    """Validate organisation.yaml, including ids unique across the whole file."""
    org = validate(doc, Organisation)
    seen: dict[str, str] = {}
    for fi, forv in enumerate(org.forvaltningar):
        _unique(doc, seen, forv.id, ["förvaltningar", fi, "id"])
        for si, sektor in enumerate(forv.sektorer):
            _unique(doc, seen, sektor.id, ["förvaltningar", fi, "sektorer", si, "id"])
            for ei, enhet in enumerate(sektor.enheter):
                loc: list[int | str] = ["förvaltningar", fi, "sektorer", si, "enheter", ei, "id"]
                _unique(doc, seen, enhet.id, loc)
        for ei, enhet in enumerate(forv.enheter):
            _unique(doc, seen, enhet.id, ["förvaltningar", fi, "enheter", ei, "id"])
    for xi, extern in enumerate(org.externa_instanser):
        _unique(doc, seen, extern.id, ["externa_instanser", xi, "id"])
    if org.enhet(REGISTRATOR) is None:
        raise doc.error(["förvaltningar"], f"enheten {REGISTRATOR!r} saknas (manuell granskning)")
    return org


def _unique(doc: YamlDocument, seen: dict[str, str], ident: str, loc: list[int | str]) -> None:
    if ident in seen:
        raise doc.error(loc, f"id {ident!r} finns redan ({seen[ident]})")
    seen[ident] = ".".join(str(s) for s in loc[:-1])
