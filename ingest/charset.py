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
_SURROGATE = re.compile("[\ud800-\udfff]")
# Codecs that are not a character set: they would read backslashes in the
# text as escapes (and could make lone surrogates). Read as unlabelled text.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape"}


def decode_text(data: bytes, charset: str | None) -> str:
    label = (charset or "").strip().strip('"').lower()
    if label in _LATIN_LABELS:
        text = _utf8_or_cp1252(data)
    else:
        try:
            codec = codecs.lookup(label).name
        except LookupError:
            codec = ""
        try:  # a non-text codec (rot13, zlib, base64) raises LookupError: never used
            text = data.decode(codec) if codec and codec not in _NOT_CHARSETS else (
                _utf8_or_cp1252(data))
        except (UnicodeError, LookupError):  # punycode raises a bare UnicodeError
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
    """Normalise line ends, drop control characters other than tab and newline,
    and replace lone surrogates (no database could store them) with U+FFFD."""
    text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
