"""GSM 03.38: which texts fit the 7-bit SMS alphabet, and how many segments
a text costs. å ä ö Å Ä Ö é ü are in it; typographic dashes and quotes are
not and would turn the whole SMS into UCS-2 (70 characters a segment)."""

from __future__ import annotations

import math
from dataclasses import dataclass

BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = frozenset("^{}\\[~]|€\f")  # two septets each (escape + character)
# What a kommun's template or an enhet's name may bring that GSM-7 lacks.
REPLACEMENTS = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " ",
    "á": "a", "í": "i", "ó": "o", "ú": "u", "ê": "e", "ë": "e", "ï": "i", "â": "a",
    "ô": "o", "ç": "c", "ã": "a", "õ": "o", "ÿ": "y", "ý": "y", "š": "s", "ž": "z",
    "č": "c", "ć": "c", "đ": "d", "ł": "l", "ń": "n", "ś": "s", "ź": "z", "ż": "z",
    "Š": "S", "Ž": "Z", "Č": "C", "Ć": "C", "Đ": "D", "Ł": "L", "Á": "A", "Í": "I",
    "Ó": "O", "Ú": "U", "È": "E", "Ê": "E", "Ë": "E", "Ï": "I", "Ô": "O",
}
GSM_SINGLE, GSM_PART = 160, 153  # septets: one SMS, each part of a long one
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True, slots=True)
class Encoded:
    text: str
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def septets(text: str) -> int | None:
    """The length in GSM-7 septets, or None when a character is not in GSM-7."""
    total = 0
    for char in text:
        if char in BASIC:
            total += 1
        elif char in EXTENSION:
            total += 2
        else:
            return None
    return total


def to_gsm7(text: str) -> str:
    """``text`` with the look-alikes GSM-7 lacks replaced (– → -, ” → "):
    a kommun's name with a dash must not make a receipt cost three SMS."""
    return "".join(REPLACEMENTS.get(c, c) for c in text)


def encode(text: str) -> Encoded:
    """How ``text`` goes out: GSM-7 after the look-alike replacement where
    possible, else UCS-2, counted honestly either way."""
    replaced = to_gsm7(text)
    units = septets(replaced)
    if units is not None:
        segments = 1 if units <= GSM_SINGLE else math.ceil(units / GSM_PART)
        return Encoded(replaced, "GSM-7", units, segments)
    code_units = len(text.encode("utf-16-le")) // 2
    segments = 1 if code_units <= UCS2_SINGLE else math.ceil(code_units / UCS2_PART)
    return Encoded(text, "UCS-2", code_units, segments)
