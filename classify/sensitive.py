"""What rules find better than statistics: personnummer and samordningsnummer
(with the Luhn check and a real date), phone numbers, e-mail addresses and
diarienummer references. Pure functions; the classifier sees the masked text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

PNR = "personnummer"
SAMORDNING = "samordningsnummer"
PHONE = "telefon"
EMAIL = "epost"
DIARIENUMMER = "diarienummer"
MASKS = {PNR: "<PNR>", SAMORDNING: "<PNR>", PHONE: "<TELEFON>", EMAIL: "<EPOST>",
         DIARIENUMMER: "<DNR>"}

_ID_NUMBER = re.compile(r"(?<![\d-])((?:19|20)?\d{6})[ ]?([-+]?)[ ]?(\d{4})(?![\d-])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(
    r"(?<![\d+])(?:\+46[\s-]?\(?0?\)?|0046[\s-]?|0)(?:[1-9]\d{0,2})(?:[\s-]?\d){5,8}(?!\d)")
_DNR = re.compile(r"\b[A-ZÅÄÖ]{2,10}[\s-]?\d{4}/\d{1,6}\b|\b\d{4}/\d{3,6}\b")
# re tries a pattern that starts with a look-behind or a word boundary at
# every position of the text. Most texts lack what a match cannot do
# without, found at C speed: "@" for an address, six digits in a row for a
# personnummer, "/" for a diarienummer. Those patterns run only where it is.
_SIX_DIGITS = re.compile(r"\d{6}")


@dataclass(frozen=True, slots=True)
class Sensitive:
    kind: str
    start: int
    end: int
    text: str


def luhn_ok(digits: str) -> bool:
    """The Luhn check over the 10 digits YYMMDDNNNC."""
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _id_kind(birth: str, rest: str, sep: str) -> str | None:
    """PNR, SAMORDNING or None for a candidate YY(YY)MMDD + NNNC."""
    ten = birth[-6:] + rest
    if not luhn_ok(ten):
        return None
    month, day = int(birth[-4:-2]), int(birth[-2:])
    kind = PNR
    if day > 60:
        day -= 60
        kind = SAMORDNING
    if len(birth) == 8:
        year = int(birth[:4])
    else:  # YYMMDD: the century from the separator (+ means 100 years or older)
        yy = int(birth[:2])
        year = 1900 + yy if yy > date.today().year % 100 else 2000 + yy
        if sep == "+":
            year -= 100
    try:
        date(year, month, day)
    except ValueError:
        return None
    return kind


def find(text: str) -> list[Sensitive]:
    """Every sensitive span in ``text``, in order, without overlaps."""
    found: list[Sensitive] = []
    if "@" in text:
        for m in _EMAIL.finditer(text):
            found.append(Sensitive(EMAIL, m.start(), m.end(), m.group()))
    if _SIX_DIGITS.search(text):
        for m in _ID_NUMBER.finditer(text):
            kind = _id_kind(m.group(1), m.group(3), m.group(2))
            if kind:
                found.append(Sensitive(kind, m.start(), m.end(), m.group()))
    if "/" in text:
        for m in _DNR.finditer(text):
            found.append(Sensitive(DIARIENUMMER, m.start(), m.end(), m.group()))
    for m in _PHONE.finditer(text):
        found.append(Sensitive(PHONE, m.start(), m.end(), m.group()))
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[Sensitive] = []
    for span in found:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def mask(text: str, spans: list[Sensitive] | None = None) -> str:
    """``text`` with every sensitive span replaced by a placeholder such as <PNR>."""
    spans = find(text) if spans is None else spans
    out, last = [], 0
    for span in spans:
        out.append(text[last:span.start])
        out.append(MASKS[span.kind])
        last = span.end
    out.append(text[last:])
    return "".join(out)


def identity_numbers(spans: list[Sensitive]) -> list[Sensitive]:
    return [s for s in spans if s.kind in (PNR, SAMORDNING)]
