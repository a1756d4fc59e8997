"""Decoding text parts the way real mail needs: labels lie.

Mail labelled ISO-8859-1 (or US-ASCII, or nothing) very often carries
Windows-1252 bytes (€, “ ”, –) or UTF-8; the decoder tries UTF-8 first,
then cp1252, then Latin-1, so every byte becomes the character the writer saw.
"""

from __future__ import annotations

import codecs
import re

_LATIN_LABELS = {
    "", "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin-1", "latin1",
    "l1", "windows-1252", "cp1252", "x-user-defined", "unknown-8bit",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_text(data: bytes, charset: str | None) -> str:
    label = (charset or "").strip().strip('"').lower()
    if label in _LATIN_LABELS:
        text = _utf8_or_cp1252(data)
    else:
        try:
            codec = codecs.lookup(label).name
        except LookupError:
            text = _utf8_or_cp1252(data)
        else:
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                text = _utf8_or_cp1252(data)
    return clean_text(text)


def _utf8_or_cp1252(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def clean_text(text: str) -> str:
    """Normalise line ends and drop control characters other than tab and newline."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
