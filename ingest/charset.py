"""Decoding text the way real mail needs: labels lie.

- Mail labelled ISO-8859-1 (or US-ASCII, or nothing) very often carries
  Windows-1252 bytes (€, “ ”, –) or UTF-8: UTF-8 is tried first, then
  cp1252, so every byte becomes the character the writer saw.
- Text in another script sent without a label (or with a Latin one), as
  KOI8-R, GB2312 or Big5 mailers still do, is recognised by its shape:
  when most of its letters would be high-bit Latin letters, a charset
  detector (charset-normalizer) names the charset instead.
- A label naming a charset whose superset is what mailers really send
  (GB2312 for GBK/GB18030, KS C 5601 for cp949, Shift_JIS for cp932, Big5
  for Big5-HKSCS) is read as the superset, so one character outside the
  label does not turn the whole text into mojibake.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_LATIN_LABELS = {
    "", "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin-1", "latin1",
    "l1", "windows-1252", "cp1252", "x-user-defined", "unknown-8bit", "unknown",
}
# What a label says, and what the mailers that use it really send.
SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "gb_2312-80": "gb18030", "chinese": "gb18030", "csgb2312": "gb18030",
    "big5": "big5hkscs", "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "ksc5601": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "iso-2022-jp": "iso2022_jp_2", "iso-8859-8-i": "iso-8859-8",
    "tis-620": "cp874", "iso-8859-11": "cp874", "iso-8859-9": "cp1254",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Codecs that are not a character set: they would read backslashes in the
# text as escapes (and could make lone surrogates). Read as unlabelled text.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape"}
# The 8-bit charsets of the scripts the kommun's residents write in, that
# mailers still send unlabelled: the detector chooses among these only (on
# a short text it would otherwise guess at Japanese for Russian).
LEGACY = ("koi8_r", "koi8_u", "cp1251", "iso8859_5", "gb18030", "big5hkscs", "cp949",
          "cp932", "euc_jp", "cp1253", "iso8859_7", "cp1254", "cp1256", "iso8859_6", "cp1255",
          "iso8859_8", "cp874", "cp1250", "iso8859_2", "cp1257")
_HIGH = re.compile(rb"[\x80-\xff]")
_LETTER = re.compile(rb"[A-Za-z\x80-\xff]")


def decode_text(data: bytes, charset: str | None) -> str:
    label = (charset or "").strip().strip('"').lower()
    label = SUPERSETS.get(label, label)
    if label in _LATIN_LABELS:
        return clean_text(decode_unlabelled(data))
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        codec = ""
    try:  # a non-text codec (rot13, zlib, base64) raises LookupError: never used
        text = data.decode(codec) if codec and codec not in _NOT_CHARSETS else (
            decode_unlabelled(data))
    except (UnicodeError, LookupError):  # punycode raises a bare UnicodeError
        text = decode_unlabelled(data)
    return clean_text(text)


def decode_unlabelled(data: bytes) -> str:
    """Bytes whose label says nothing useful: UTF-8 if they are UTF-8; a
    detected charset when they look like another script; else cp1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _other_script(data):
        best = from_bytes(data, cp_isolation=list(LEGACY)).best()
        if best is not None:
            return str(best)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def _other_script(data: bytes) -> bool:
    """Would most letters be high-bit ones if this were Latin text? Swedish,
    German or French text has a few (å ä ö é ü), Cyrillic or Chinese text in
    an 8-bit charset nearly nothing else."""
    high = len(_HIGH.findall(data))
    return high >= 4 and high > 0.3 * len(_LETTER.findall(data))


def clean_text(text: str) -> str:
    """Normalise line ends, drop control characters other than tab and newline,
    and replace lone surrogates (no database could store them) with U+FFFD."""
    text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
