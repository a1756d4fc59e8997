"""Routine profiles (routines.yaml): the deadlines each routine sets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from config.yamlfile import YamlDocument, validate


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Frist(_Model):
    """One deadline of a routine, e.g. återkoppling within 30 dagar."""

    typ: str = Field(pattern=r"^[a-z][a-z_]*$")
    antal: int = Field(ge=0, le=365)
    enhet: Literal["dagar", "arbetsdagar"]
    # Shown to the sender in the mottagningsbevis: "Du får {beskrivning} senast …".
    beskrivning: str
    endast_med_kontaktuppgifter: bool = False
    # Past this deadline the sender gets a delay notice with the reason.
    forseningsbesked: bool = Field(default=False, alias="förseningsbesked")


# A private utförare's yearly compilation of its synpunkter och klagomål
# (Söderköping: "Sammanställningen skickas en gång per år till registratorn för
# diarieföring"): registered, never a complaint of its own.
COMPILATION = "sammanstallning"
ALWAYS_APART = frozenset({COMPILATION})

Role = Literal["sektorchef", "forvaltningschef", "registrator", "upphandlare", "kontaktperson",
               "mas", "mar"]


class Rutin(_Model):
    namn: str
    kalla: str = Field(alias="källa")
    frister: list[Frist]
    # The enhetschef is reminded this many arbetsdagar before a deadline.
    paminnelse_arbetsdagar: int = Field(default=2, ge=0, le=20, alias="påminnelse_arbetsdagar")
    # A case without contact details: `registrera` (Nacka, Essunga,
    # Socialnämnden: registered and handled as far as possible; the
    # verksamhet's own deadlines run, nothing is promised to anyone) or
    # `vidarebefordra` (Hässelby-Vällingby: "ska endast vidarebefordras till
    # den verksamhet som synpunkten/klagomålet rör": not diariefört, no
    # deadlines, the enhet told for its sammanställning).
    anonyma: Literal["registrera", "vidarebefordra"] = "registrera"
    # A sender not satisfied with the återkoppling is helped on to the next
    # chef up, who is told (Söderköping, Essunga).
    missnoje_till_narmaste_chef: bool = Field(default=False, alias="missnöje_till_närmaste_chef")
    # The text the register keeps is de-identified at registration; the
    # original stays apart, read only by those who handle the case (Nacka).
    avidentifiera: bool = False
    # Matters kept out of the complaint routine and its statistics, by flag
    # (Essunga: lex Sarah/lex Maria, överklaganden, felanmälan, other
    # authorities' matters). Still registered: the register keeps everything.
    undantag: list[Literal["allvarlig_handelse", "overklagande", "felanmalan", "extern",
                           "medborgarforslag", "valfardsbrott"]] = Field(default_factory=list)
    # Who else is told of every klagomål under the routine, by role
    # (Söderköping: the registrator "informerar sektorchef"; Socialnämnden:
    # "för kännedom till ... Mas eller Mar"), and of every case (Hässelby-
    # Vällingby: "kontaktperson från respektive avdelning på kopia").
    informera_vid_klagomal: list[Role] = Field(default_factory=list,
                                               alias="informera_vid_klagomål")
    informera: list[Role] = Field(default_factory=list)
    # When those roles are told: `sammanställning` (the default: the new
    # cases they are told of are listed in their next morning digest; the
    # seeds "informeras" and "för kännedom" ask no more, and one mail a
    # case to a sektorchef or MAS is mail they learn to skip) or `direkt`
    # (a notice per case as it is registered: Hässelby-Vällingby's
    # kontaktperson "på kopia"). A possible serious incident is always told
    # at once.
    kannedom: Literal["direkt", "sammanställning"] = Field(default="sammanställning",
                                                            alias="kännedom")
    # When the chef of the enhet a case is routed to gets it (every seed's
    # registrator sends each case on to its chef): `sammanställning` (the
    # default: a case that can wait is handed over in the chef's next
    # morning digest, one mail a morning rather than one a case) or `direkt`
    # (a notice per case as it is registered: Nacka's "En snabb reaktion är
    # dock alltid viktig", Hässelby-Vällingby's "utreds skyndsamt"). Whatever
    # the routine says, the chef gets a case at once when it may be a serious
    # incident, when the enhet is run by an enskild utförare (it is to be
    # forwarded with a date), and when its first deadline falls within the
    # reminder lead (`påminnelse_arbetsdagar`) of that digest.
    till_chefen: Literal["direkt", "sammanställning"] = "sammanställning"


class Val(_Model):
    """Which profile a case gets when no routing rule names one: its enhet's,
    else its förvaltning's, else `standard`."""

    forvaltningar: dict[str, str] = Field(default_factory=dict, alias="förvaltningar")
    enheter: dict[str, str] = Field(default_factory=dict)


class Rutiner(_Model):
    standard: str
    val: Val = Field(default_factory=Val)
    profiler: dict[str, Rutin]

    def profile(self, routine_id: str | None) -> tuple[str, Rutin]:
        rid = routine_id or self.standard
        return rid, self.profiler[rid]

    def excluded(self, routine_id: str | None, flags: Iterable[str]) -> list[str]:
        """The flags that keep a case out of its routine and its statistics:
        the routine's undantag, and always a private utförare's yearly
        compilation (filed as such, never a complaint of its own)."""
        routine = self.profiler.get(routine_id or "")
        apart = set(routine.undantag) if routine is not None else set()
        return sorted((apart | ALWAYS_APART) & set(flags))

    def told(self, routine_id: str | None, category: str | None,
             flags: Iterable[str]) -> tuple[Role, ...]:
        """Who else the routine tells of a case, by role: of every case
        (``informera``) and of every klagomål (``informera_vid_klagomål``);
        nobody of a matter the routine excludes."""
        routine = self.profiler.get(routine_id or "")
        if routine is None or self.excluded(routine_id, flags):
            return ()
        return tuple(dict.fromkeys((*routine.informera, *(
            routine.informera_vid_klagomal if category == "klagomal" else ()))))

    def told_at_once(self, routine_id: str | None, category: str | None,
                     flags: Iterable[str], urgent: bool) -> tuple[Role, ...]:
        """The roles ``told`` that get a notice as the case is registered."""
        routine = self.profiler.get(routine_id or "")
        if routine is None or not (urgent or routine.kannedom == "direkt"):
            return ()
        return self.told(routine_id, category, flags)

    def told_in_digest(self, routine_id: str | None, category: str | None,
                       flags: Iterable[str], urgent: bool) -> tuple[Role, ...]:
        """The roles ``told`` that read of the case in their morning digest."""
        routine = self.profiler.get(routine_id or "")
        if routine is None or urgent or routine.kannedom == "direkt":
            return ()
        return self.told(routine_id, category, flags)

    def forwards_only(self, routine_id: str | None, has_contact: bool) -> bool:
        """Whether a case is only forwarded to its enhet, not diariefört: a
        case without contact details under a routine that says so."""
        routine = self.profiler.get(routine_id or "")
        return not has_contact and routine is not None and routine.anonyma == "vidarebefordra"

    def choose(self, rule_routine: str | None, enhet: str,
               forvaltning: str | None) -> tuple[str, Rutin]:
        """The profile for a case: the routing rule's, the enhet's, the
        förvaltning's, or the standard one."""
        rid = (rule_routine or self.val.enheter.get(enhet)
               or (self.val.forvaltningar.get(forvaltning) if forvaltning else None)
               or self.standard)
        return rid, self.profiler[rid]


def load_routines(doc: YamlDocument) -> Rutiner:
    routines = validate(doc, Rutiner)
    if routines.standard not in routines.profiler:
        raise doc.error(["standard"], f"standard: okänd rutin {routines.standard!r}")
    for group, chosen in (("förvaltningar", routines.val.forvaltningar),
                          ("enheter", routines.val.enheter)):
        for key, rid in chosen.items():
            if rid not in routines.profiler:
                raise doc.error(["val", group, key], f"val.{group}.{key}: okänd rutin {rid!r}")
    return routines
