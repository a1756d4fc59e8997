"""Senders made to look like the kommun itself: a domain that reads as ours
(``ekby-example.com``, Cyrillic or Greek letters, the same in punycode,
``ekby.example.evil.example``) or a display name that names us over someone
else's address (``"Ekby kommun <synpunkter@ekby.example>" <evil@…>``).

Such mail is never treated as our own (ingest.screen compares exactly): it
is a person's message and becomes a case, but the case carries a warning so
that a registrator does not take it for the kommun's own mail.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic and Greek letters that look like Latin ones (a small part of
# Unicode's confusables, the part that fits a Swedish kommun's domain).
_CONFUSABLE = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ӏ": "l", "ԛ": "q", "ԝ": "w", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i",
    "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ү": "y",
    "0": "o", "1": "l",
})
_SEPARATORS = re.compile(r"[.\-_]+")


def skeleton(text: str) -> str:
    """What ``text`` looks like: punycode decoded, accents and compatibility
    forms folded, look-alike letters mapped to Latin, lower case."""
    labels = [_unpunycode(label) for label in text.lower().split(".")]
    folded = unicodedata.normalize("NFKD", ".".join(labels))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return plain.lower().translate(_CONFUSABLE)


def _unpunycode(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return label


def lookalike_warning(sender: str | None, display_name: str | None, own_domain: str,
                      kommun_name: str) -> str | None:
    """A warning in Swedish for a registrator, or None for an ordinary sender."""
    if not sender or "@" not in sender:
        return None
    domain = sender.rpartition("@")[2].lower()
    own = own_domain.lower()
    if domain == own or domain.endswith("." + own):
        return None
    own_label = skeleton(own.rsplit(".", 1)[0] if "." in own else own)
    tokens = _SEPARATORS.split(skeleton(domain))
    # No address or domain of the sender in the text: it goes to the audit
    # trail, which keeps no contact details (they are gallrade, it is not).
    if skeleton(domain) == skeleton(own) or own_label in tokens:
        return (f"Varning: avsändarens adress liknar kommunens egen ({own}) men är en annan, "
                "till exempel med utländska bokstäver eller en extra del. Meddelandet kommer "
                "inte från kommunen.")
    shown = skeleton(display_name or "")
    if skeleton(own) in shown or skeleton(kommun_name) in shown:
        return ("Varning: avsändarens namn ser ut som kommunens, men adressen är en annan. "
                "Meddelandet kommer inte från kommunen.")
    return None
