"""De-identification at registration (pure), for routines that ask for it.

Nacka (001): "Avidentifiera klagomålet vid registreringen"; the personal
data is kept apart, for the återkoppling only. What is masked in the text
the register keeps: personnummer and samordningsnummer, phone numbers,
e-mail addresses (classify.sensitive), street addresses with a number
("Storgatan 12", "Björkvägen 3 B"), and the sender's own names wherever they
occur, and the names people give themselves ("Jag heter …", "Mitt namn
är …", "Hälsningar …"). What is not found: other people's names written in
the text ("min mamma Sture"); the case page says the text is de-identified by rule, not by
a person, and the original stays readable to those who handle the case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from classify.sensitive import EMAIL, PHONE, PNR, SAMORDNING, find

MASKS = {PNR: "[personnummer]", SAMORDNING: "[personnummer]", PHONE: "[telefon]",
         EMAIL: "[e-post]", "adress": "[adress]", "namn": "[namn]"}
# Swedish street names end in these; a number follows the street.
_STREET = re.compile(
    r"\b[A-ZÅÄÖ][a-zåäöé]+(?:\s[A-ZÅÄÖ][a-zåäöé]+)?"
    r"(?:gatan|vägen|gränd|gränden|stigen|backen|torget|allén|plan|leden|slingan|gata|väg)"
    r"\s\d{1,4}(?:\s?[A-Za-z](?![\w]))?(?:,?\s(?:lgh|lägenhet)\s?\d{1,5})?",
)
_NAME_PART = re.compile(r"^[A-ZÅÄÖÉ][a-zåäöéü']+(?:-[A-ZÅÄÖÉ]?[a-zåäöéü']+)?$")
# Where people name themselves: "Jag heter …", "Mitt namn är …", and the
# closing of a letter ("Hälsningar …", "Mvh …", "/…").
_WORD = r"[A-ZÅÄÖÉ][a-zåäöéü']+(?:-[A-ZÅÄÖÉ]?[a-zåäöéü']+)?"
_INTRODUCED = re.compile(
    rf"(?:\b(?:[Jj]ag heter|[Mm]itt namn är|[Hh]älsningar|[Hh]älsning|[Mm]vh|MVH|[Hh]ej då)"
    rf"[,:]?\s+|(?:^|\s)/\s?)({_WORD}(?:[ -]{_WORD}){{0,2}})")


@dataclass(frozen=True, slots=True)
class Deidentified:
    text: str
    masked: dict[str, int]  # how many of each kind were masked


def deidentify(text: str, names: Iterable[str | None] = ()) -> Deidentified:
    """``text`` with personal data replaced; ``names``: the sender's names
    as given (display name, the name on a form)."""
    spans: list[tuple[int, int, str]] = [
        (s.start, s.end, s.kind) for s in find(text)
        if s.kind in (PNR, SAMORDNING, PHONE, EMAIL)]
    spans += [(m.start(), m.end(), "adress") for m in _STREET.finditer(text)]
    introduced = [m.group(1) for m in _INTRODUCED.finditer(text)]
    for part in _name_parts([*names, *introduced]):
        spans += [(m.start(), m.end(), "namn")
                  for m in re.finditer(rf"(?<![\w]){re.escape(part)}(?![\w])", text)]
    chosen: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if chosen and start < chosen[-1][1]:
            continue  # inside a span already masked
        chosen.append((start, end, kind))
    out, last, counts = [], 0, dict.fromkeys(MASKS, 0)
    for start, end, kind in chosen:
        out += [text[last:start], MASKS[kind]]
        counts[kind] += 1
        last = end
    out.append(text[last:])
    counts[PNR] += counts.pop(SAMORDNING)
    return Deidentified("".join(out), {k: n for k, n in counts.items() if n})


def _name_parts(names: Iterable[str | None]) -> list[str]:
    """The words of a person's name worth looking for: capitalised, two
    letters or more, not an address."""
    parts = set()
    for name in names:
        if not name or "@" in name:
            continue
        parts |= {w for w in re.split(r"[\s,]+", name.strip()) if _NAME_PART.match(w)}
    return sorted(parts, key=len, reverse=True)
