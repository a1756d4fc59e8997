"""Registerutdrag: everything the register holds about one sender, as a zip,
for a request under GDPR article 15.

The sender is one e-mail address (matched without regard to case) or one
phone number (matched in E.164, however it is written). The zip holds the
sender's cases (with contact, deadlines, status and the audit trail, staff
notes included: they are the sender's personal data too), every message
from the sender exactly as it came in, every message sent to the sender,
and a README.txt in Swedish. Nothing about other senders is added: a case
is included only when its contact is this sender, a message only when it
came from or went to this sender.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.models import Contact, Inbound, Outbox
from cases.queries import show_case
from deadlines.calendar import STOCKHOLM
from ingest.message import Channel
from ingest.sms.phone import e164

HEADER_BYTES = 65536  # the From header is looked for in the first 64 KiB
BATCH = 500


@dataclass(frozen=True, slots=True)
class Sender:
    kind: str  # "email" | "phone"
    value: str  # lower-cased address, or E.164


def sender_of(text: str) -> Sender | None:
    """The sender an operator typed: an e-mail address or a phone number."""
    value = text.strip()
    if "@" in value:
        address = email.utils.parseaddr(value)[1].strip().lower()
        return Sender("email", address) if "@" in address and " " not in address else None
    number = e164(value)
    return Sender("phone", number) if number else None


@dataclass
class Utdrag:
    sender: Sender
    cases: list[str] = field(default_factory=list)  # diarienummer
    inbound: list[str] = field(default_factory=list)  # file names in the zip
    outbox: list[str] = field(default_factory=list)


def write_registerutdrag(session: Session, sender: Sender, out: Path, now: datetime) -> Utdrag:
    """Write the zip to ``out`` (atomically: a temporary file, then renamed)."""
    result = Utdrag(sender)
    partial = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for case_id in _case_ids(session, sender):
            case = show_case(session, case_id)
            if case is None:
                continue
            contact = session.scalar(select(Contact).where(Contact.case_id == case_id))
            if case["contact"] is not None and contact is not None:
                case["contact"]["address"] = contact.address
            name = f"arenden/{_safe(case['diarienummer'])}.json"
            zf.writestr(name, _json(case))
            result.cases.append(case["diarienummer"])
        for row in _inbound(session, sender):
            suffix = "sms.json" if row.channel == Channel.SMS else "eml"
            name = f"inkommande/{row.id:08d}.{suffix}"
            zf.writestr(name, row.raw)
            result.inbound.append(name)
        for msg in _outbox(session, sender):
            suffix = "sms.txt" if msg.channel == Channel.SMS else "eml"
            name = f"utgaende/{msg.id:08d}.{suffix}"
            zf.writestr(name, msg.body)
            result.outbox.append(name)
        zf.writestr("innehall.json", _json({
            "avsandare": sender.value, "skapat": now, "arenden": result.cases,
            "inkommande": result.inbound, "utgaende": result.outbox}))
        zf.writestr("README.txt", readme(result, now))
    os.replace(partial, out)
    return result


def _case_ids(session: Session, sender: Sender) -> list[int]:
    column = func.lower(Contact.email) if sender.kind == "email" else Contact.phone
    return list(session.scalars(select(Contact.case_id).where(column == sender.value)
                                .order_by(Contact.case_id)))


def _inbound(session: Session, sender: Sender) -> Iterator[Inbound]:
    if sender.kind == "phone":
        yield from session.scalars(select(Inbound).where(
            Inbound.channel == Channel.SMS, Inbound.sender == sender.value).order_by(Inbound.id))
        return
    last = 0
    while True:  # every e-mail's From header, a batch at a time (never all raw bytes at once)
        heads = session.execute(
            select(Inbound.id, func.substr(Inbound.raw, 1, HEADER_BYTES))
            .where(Inbound.channel != Channel.SMS, Inbound.id > last)
            .order_by(Inbound.id).limit(BATCH)).all()
        if not heads:
            return
        for row_id, head in heads:
            if sender.value in from_addresses(bytes(head or b"")):
                yield session.get_one(Inbound, row_id)
        last = heads[-1][0]


def from_addresses(head: bytes) -> set[str]:
    """The lower-cased addresses in a mail's From and Sender headers."""
    try:
        msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
        values = [str(v) for name in ("from", "sender") for v in msg.get_all(name, [])]
        return {addr.strip().lower() for _, addr in email.utils.getaddresses(values)
                if "@" in addr}
    except Exception:  # a header too broken to read names nobody
        return set()


def _outbox(session: Session, sender: Sender) -> Iterator[Outbox]:
    column = func.lower(Outbox.recipient) if sender.kind == "email" else Outbox.recipient
    yield from session.scalars(select(Outbox).where(column == sender.value).order_by(Outbox.id))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)


def _json(obj: Any) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return json.dumps(obj, ensure_ascii=False, indent=2, default=default) + "\n"


SEKRETESS_REMINDER = (
    "Granska utdraget innan det lämnas ut: uppgifter som omfattas av sekretess "
    "(offentlighets- och sekretesslagen), till exempel om andra personer i "
    "anteckningarna, ska prövas av registratorn först."
)


def readme(result: Utdrag, now: datetime) -> str:
    who = "e-postadressen" if result.sender.kind == "email" else "telefonnumret"
    return "\n".join([
        "REGISTERUTDRAG UR SYNPUNKT",
        "",
        f"Utdraget gäller {who} {result.sender.value} och skapades "
        f"{now.astimezone(STOCKHOLM).strftime('%Y-%m-%d %H:%M')}.",
        "Det innehåller allt som kommunens register för synpunkter och klagomål "
        "har sparat om den avsändaren.",
        "",
        f"arenden/      Ärendena ({len(result.cases)} st), ett per fil: diarienummer, "
        "status, ämne och text,",
        "              kontaktuppgifter, frister, utskick och händelseloggen med "
        "handläggarnas anteckningar.",
        f"inkommande/   Meddelandena från avsändaren ({len(result.inbound)} st), precis "
        "som de kom in:",
        "              e-post som .eml-filer (öppnas i ett e-postprogram, bilagorna "
        "ingår), sms som .sms.json.",
        f"utgaende/     Det kommunen skickat till avsändaren ({len(result.outbox)} st): "
        "mottagningsbevis,",
        "              förseningsbesked med mera, e-post som .eml, sms som .sms.txt.",
        "innehall.json En förteckning över filerna, för den som vill läsa den med ett program.",
        "",
        "Uppgifter som redan har gallrats enligt kommunens gallringsbeslut finns inte "
        "längre och står som [gallrad ÅÅÅÅ-MM-DD].",
        "",
        "Till registratorn: " + SEKRETESS_REMINDER,
        "",
    ])
