"""Phone numbers as the kommun's register keeps them: E.164, read the Swedish way."""

from __future__ import annotations

DEFAULT_REGION = "SE"


def e164(number: str, region: str = DEFAULT_REGION) -> str | None:
    """``+46701234567`` for any way a person or a gateway writes a number
    (``070-123 45 67``, ``0046 70 123 45 67``, ``46701234567``); None when it
    is not a possible phone number (an alphanumeric sender such as "Posten")."""
    text = number.strip()
    if not text or any(c.isalpha() for c in text):
        return None
    import phonenumbers  # 0.1 s to import: only where numbers are read

    if text.startswith("00"):
        text = "+" + text[2:]
    elif text[0] != "+" and text[:2] == "46" and len(_digits(text)) >= 10:
        text = "+" + text  # gateways that drop the plus
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_short_code(number: str) -> bool:
    """Service numbers of a few digits (72 400, 711 11): they send automatic
    texts and cannot take a reply from a person."""
    digits = _digits(number)
    return not number.strip().startswith("+") and 3 <= len(digits) <= 6


def masked(number: str) -> str:
    """For logs: the country code and the last two digits, ``+46*******67``."""
    digits = _digits(number)
    if len(digits) < 5:
        return "*" * len(number)
    return f"+{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())
