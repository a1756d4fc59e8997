"""Mail addresses as real mail writes them: in angle brackets or not, two
in a header where one belongs, UTF-8 (RFC 6532), with display names in any
charset. One valid address comes out, or none."""

from __future__ import annotations

import email.errors
import email.headerregistry
import email.utils
import re
import string
import unicodedata

from ingest.charset import clean_text

_WS = re.compile(r"\s+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# A bare address in free text: "Big Bug bb@bug.com", "a@x.se b@x.se".
_BARE = re.compile(r"[^\s<>()\[\]\",;:@]+@[^\s<>()\[\]\",;:@]+\.[^\s<>()\[\]\",;:@]+")
# Control, format (bidi overrides, zero-width), surrogate and line-separator
# characters: in an address or a file name they hide or reorder what a
# person reads.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def first_address(*headers: str | None) -> tuple[str | None, str | None]:
    """(address, display name) of the first valid address in the headers, in
    order (From, then Sender, say). The address is lower-cased in its ASCII
    letters only: str.lower() maps the Kelvin sign to "k", and a lookalike
    domain must never be folded into ours."""
    for value in headers:
        if not value:
            continue
        for raw_name, addr in _valid_candidates(value):
            name = one_line(clean_text(raw_name or "")).strip('"').strip()
            return addr, name or None
    return None, None


def _valid_candidates(value: str) -> list[tuple[str, str]]:
    """The header's valid addresses (each checked once), with their names:
    the bracketed ones that parse, or else bare ones found in the text."""
    parsed = [(n, a.strip().translate(_ASCII_LOWER))
              for n, a in email.utils.getaddresses([value]) if a]
    valid = [(n, a) for n, a in parsed if valid_address(a)]
    if valid:
        return valid
    # No bracketed address that parses: look for bare ones in the text.
    bare = _BARE.findall(value)
    name = _BARE.sub("", value).strip(" \t\"'<>,;") if len(bare) == 1 else ""
    return [(name, a) for a in (b.strip().translate(_ASCII_LOWER) for b in bare)
            if valid_address(a)]


def valid_address(addr: str) -> bool:
    """One syntactically valid address and nothing else, so that a receipt's
    To: names exactly this person (no second address, no group, no
    controls). UTF-8 in the local part and the domain is valid (RFC 6532)."""
    if "@" not in addr or _WS.search(addr):
        return False
    if any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in addr):
        return False
    local, _, domain = addr.rpartition("@")
    if not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return False
    try:  # the stdlib knows RFC 5322, not 6532: its structure checked with letters for UTF-8
        email.headerregistry.Address(addr_spec=_NON_ASCII.sub("a", addr))
    except (ValueError, IndexError, TypeError, email.errors.HeaderParseError):
        return False
    return True


def one_line(value: str) -> str:
    """Header text on one line: CR/LF and runs of white space become one space."""
    return _WS.sub(" ", value).strip()
