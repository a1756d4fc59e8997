"""Routine profiles (routines.yaml): the deadlines each routine sets."""

from __future__ import annotations

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


class Rutin(_Model):
    namn: str
    kalla: str = Field(alias="källa")
    frister: list[Frist]


class Rutiner(_Model):
    standard: str
    profiler: dict[str, Rutin]

    def profile(self, routine_id: str | None) -> tuple[str, Rutin]:
        rid = routine_id or self.standard
        return rid, self.profiler[rid]


def load_routines(doc: YamlDocument) -> Rutiner:
    routines = validate(doc, Rutiner)
    if routines.standard not in routines.profiler:
        raise doc.error(["standard"], f"standard: okänd rutin {routines.standard!r}")
    return routines
