"""Raw bytes -> Message, or Quarantine with the reason. Never raises.

The stdlib parser builds the message tree with its size, parts and depth
bounded (ingest.bounded); ``ingest.body`` reads its parts one by one, so a
broken part is listed and the rest still read. A Quarantine is only for
input that is not a mail at all (empty, too large, too deep, no headers):
whether an automatic mail (a bounce without a sender, say) is to be set
aside is the screen's to say, and it looks before anything is quarantined.
"""

from __future__ import annotations

import email.message
import logging
import re
from collections.abc import Iterator

from flufl.bounce import all_failures

from config.settings import Limits
from ingest.address import first_address, one_line, valid_address
from ingest.body import Body, header, parse_date, read_body, safe_filename
from ingest.bounded import StructureRefused, parse_bounded, too_large
from ingest.charset import decode_text
from ingest.message import Channel, Message, Quarantine

__all__ = ["html_body", "parse", "safe_filename"]

# flufl.bounce logs a traceback for each detector that trips over a strange
# header before re-raising; _bounced() catches that and takes no verdict.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL + 1)
_MSGID = re.compile(r"<[^<>\s]+>")
_KNOWN_HEADERS = ("from", "to", "subject", "date", "message-id", "received", "mime-version")


def parse(raw: bytes, limits: Limits, channel: Channel = Channel.EMAIL) -> Message | Quarantine:
    """Parse one raw e-mail. Anything that is not a mail comes back as a Quarantine."""
    try:
        return _parse(raw, limits, channel)
    except Exception as exc:  # the parser must never take the queue down
        return Quarantine("parse-error", f"meddelandet kunde inte tolkas ({type(exc).__name__})")


def _parse(raw: bytes, limits: Limits, channel: Channel) -> Message | Quarantine:
    # Size first, and without copying the bytes (no strip(), no lower()).
    refused = too_large(len(raw), limits)
    if refused is not None:
        return Quarantine(refused.code, refused.detail)
    if not raw or raw.isspace():
        return Quarantine("empty", "filen är tom")
    try:
        msg = parse_bounded(raw, limits)
        body = read_body(msg, limits)
    except StructureRefused as exc:
        return Quarantine(exc.code, exc.detail)
    except RecursionError:
        return Quarantine("too-deep", "meddelandets delar är nästlade för djupt för att kunna "
                          "läsas")
    if not any(msg.get(name) is not None for name in _KNOWN_HEADERS):
        return Quarantine("unreadable-headers", "meddelandet saknar läsbara brevhuvuden")

    hint = _charset_hint(msg)
    sender, display_name = first_address(header(msg, "from", hint), header(msg, "sender", hint))
    reply_to, _name = first_address(header(msg, "reply-to", hint))
    text = body.text()
    defects = sorted({type(d).__name__ for part in msg.walk() for d in part.defects})
    if len(text) > limits.text_chars:
        text = text[: limits.text_chars] + "\n[…texten är avkortad; hela meddelandet finns sparat]"
        defects.append("TextTruncated")
    return Message(
        channel=channel,
        sender=sender,
        display_name=display_name,
        subject=one_line(header(msg, "subject", hint) or "")[:500],
        text=text,
        message_id=_first_id(header(msg, "message-id")),
        in_reply_to=_first_id(header(msg, "in-reply-to")),
        references=tuple(_MSGID.findall(header(msg, "references") or "")),
        date=parse_date(header(msg, "date")),
        attachments=tuple(body.attachments),
        defects=tuple(defects),
        headers=tuple(_headers(msg, hint)),
        content_type=msg.get_content_type(),
        return_path=header(msg, "return-path"),
        reply_to=reply_to,
        part_types=tuple(dict.fromkeys(body.types)),
        broken=tuple(dict.fromkeys(body.broken)),
        attached_messages=tuple(body.inner),
        bounce_recipients=_bounced(msg, body),
    )


def _charset_hint(msg: email.message.Message) -> str | None:
    """The charset the first text part declares: headers sent as raw 8-bit
    bytes are usually in it."""
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            charset = part.get_content_charset()
            if charset:
                return charset
    return None


_BOUNCE_HINT = re.compile(
    r"mailer|daemon|postmaster|post_master|deliver|undeliver|returned|bounce|failure|failed"
    r"|notif|error|warning|reject|unzustell|levere|zustell|not\s+reach|problem|status",
    re.IGNORECASE)


def _bounced(msg: email.message.Message, body: Body) -> tuple[str, ...]:
    """Addresses flufl.bounce (GNU Mailman's bounce detectors) finds a bounce
    of ``msg`` reports, real addresses only (its heuristics read uuencoded
    text as one now and then). Asked only where a bounce is possible: a
    report part or an attached message, no sender, or a sender or subject
    in a bounce's words."""
    said = f"{msg.get('from', '')} {msg.get('subject', '')} {msg.get('return-path', '')}"
    if not (body.inner or msg.get("from") is None or _BOUNCE_HINT.search(said)
            or any(t.startswith(("message/", "text/rfc822")) for t in body.types)):
        return ()
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # a detector that trips over a strange header: no verdict
        return ()
    found = {a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a)
             for a in (*temporary, *permanent)}
    return tuple(sorted(a for a in found if valid_address(a.strip("<>").lower())))


def _headers(msg: email.message.Message, hint: str | None) -> Iterator[tuple[str, str]]:
    for name in list(msg.keys())[:300]:
        value = header(msg, name, hint)
        if value is not None:
            yield name.lower(), one_line(value)[:2000]


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    return found.group(0) if found else None


def html_body(raw: bytes) -> str | None:
    """The message's first text/html body part, decoded; None when it has none
    or cannot be read. For showing the original (sanitised) to a person."""
    try:
        msg = email.message_from_bytes(raw)
        for part in msg.walk():
            if (part.get_content_type() == "text/html"
                    and part.get_content_disposition() != "attachment"):
                data = part.get_payload(decode=True)
                if isinstance(data, bytes):
                    return decode_text(data, part.get_content_charset())
    except Exception:  # a message the pipeline quarantined may not parse at all
        return None
    return None
