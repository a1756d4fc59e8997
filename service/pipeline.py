"""The way of one message: stored raw input -> case, ignored or quarantined.

``process_inbound`` is what an actor (``ingest.process``) or the embedded
loop calls with an inbound id. The pure steps run between loading the row
and one commit that writes the case, its deadlines and its receipt. A
batch (``service.batch``) takes each message this way inside its one
transaction (``process_in``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from contextlib import nullcontext

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from cases.db import transient_db_errors
from cases.inbound import claim_fingerprint, finish
from cases.models import Case, Inbound, InboundStatus
from cases.register import find_case
from config.errors import TransientError
from config.unexpected import log_unexpected
from ingest.bounded import too_large
from ingest.by_hand import BY_HAND
from ingest.fingerprint import fingerprint
from ingest.forward import from_staff, original_of, staff_domains
from ingest.message import Channel, Message, Quarantine
from ingest.parse import parse
from ingest.screen import Screened, screen, spam_verdict
from ingest.staff_note import written_down
from ingest.thread import thread_refs
from ingest.webform import citizen_of, form_of
from service.app import App
from service.by_hand import process_by_hand, register_written_down
from service.intake import (
    Opened,
    Outcome,
    open_registration,
    received_at_local,
    register_message,
    thread_reply,
)
from service.sms_intake import process_sms

log = logging.getLogger(__name__)

__all__ = ["Opened", "Outcome", "pending_inbound", "process_in", "process_inbound",
           "received_at_local"]

# One large message at a time per process (Limits.parse_alone_bytes).
LARGE_PARSE = threading.Lock()


def pending_inbound(app: App) -> list[int]:
    with app.sessions() as session:
        return list(session.scalars(
            select(Inbound.id).where(Inbound.status == InboundStatus.RECEIVED).order_by(Inbound.id)
        ))


def process_inbound(app: App, inbound_id: int, parsed: Message | None = None) -> Outcome:
    """Process one stored message. Never raises for bad input: an unexpected
    error quarantines the message (the shunt) and the queue moves on. An
    unreachable database raises TransientError, to be retried. ``parsed``:
    the stored bytes as ``prime`` parsed them (they never change)."""
    try:
        with transient_db_errors(), app.sessions.begin() as session:
            outcome = process_in(app, session, inbound_id, parsed)
            assert isinstance(outcome, Outcome)  # not opening: always an Outcome
            return outcome
    except TransientError:
        raise  # the database is away: retry later, the row stays "received"
    except Exception as exc:
        log_unexpected(log, f"processing inbound_id={inbound_id}", exc)
        with app.sessions.begin() as session:
            row = session.get_one(Inbound, inbound_id)
            reason = f"internal-error: ett fel i Synpunkt ({type(exc).__name__}); försök igen"
            finish(session, row, InboundStatus.QUARANTINED, reason)
            return Outcome(inbound_id, row.status, row.reason)


def process_in(app: App, session: Session, inbound_id: int,
               primed: Message | None = None, *, opening: bool = False,
               claimed: Mapping[int, int | None] | None = None) -> Outcome | Opened:
    """Process one stored message in the caller's transaction.
    ``opening``: a new case is only opened (``Opened``), its number and
    what needs it left to the batch; otherwise always an Outcome.
    ``claimed``: the batch's fingerprints claimed already
    (``cases.inbound.claim_fingerprints``), by inbound id."""
    if primed is not None:  # prime read it: an e-mail within the size parsed alone
        row = (session.get(Inbound, inbound_id) if opening  # the batch locked it
               else session.get(Inbound, inbound_id, with_for_update=True,
                                options=[defer(Inbound.raw)]))
        if row is None:
            return Outcome(inbound_id, "missing")
        if row.status != InboundStatus.RECEIVED:
            return Outcome(inbound_id, row.status, row.reason, row.case_id)
        parsed: Message | Quarantine = primed
    else:
        head = session.execute(
            select(Inbound.channel, Inbound.source, Inbound.sender, func.length(Inbound.raw))
            .where(Inbound.id == inbound_id)
        ).one_or_none()
        if head is None:
            return Outcome(inbound_id, "missing")
        if head.channel == Channel.SMS:
            return process_sms(app, session, inbound_id, head.source, head.sender)
        if head.channel in BY_HAND:
            return process_by_hand(app, session, inbound_id)
        # The raw bytes are loaded only when their size is within the limit: a
        # 50 MB message is quarantined without another copy of it in memory.
        size = head[3] or 0
        refused = too_large(size, app.settings.limits)
        large = refused is None and size > app.settings.limits.parse_alone_bytes
        with LARGE_PARSE if large else nullcontext():  # large ones one at a time
            row = session.get_one(Inbound, inbound_id, with_for_update=True,
                                  options=[defer(Inbound.raw)] if refused is not None else [])
            if row.status != InboundStatus.RECEIVED:
                return Outcome(inbound_id, row.status, row.reason, row.case_id)
            parsed = (Quarantine(refused.code, refused.detail) if refused is not None
                      else parse(row.raw, app.settings.limits, Channel(row.channel)))
    if isinstance(parsed, Quarantine):
        finish(session, row, InboundStatus.QUARANTINED, parsed.reason)
        return Outcome(inbound_id, row.status, row.reason)
    message: Message = parsed
    if not row.released:  # the registrator's release skips what sets mail aside
        first = (claimed[row.id] if claimed is not None and row.id in claimed
                 else claim_fingerprint(session, fingerprint(message), row.id))
        if first is not None:
            row.case_id = session.scalar(select(Inbound.case_id).where(Inbound.id == first))
            finish(session, row, InboundStatus.IGNORED,
                   f"duplicate: samma brev som inkommande nr {first} (kom fram två gånger)")
            return Outcome(inbound_id, row.status, row.reason)

    org = app.kommun.organisation
    form = form_of(message, app.forms)
    if form is not None:  # the kommun's e-tjänst: from the citizen in it
        message = citizen_of(message, form)
    aside = None if row.released else _set_aside(app, row, message, web_form=form is not None)
    if aside is not None:
        finish(session, row, InboundStatus.IGNORED, aside.reason)
        return Outcome(inbound_id, row.status, row.reason)
    domains = staff_domains(org.kommun.staff_domains)
    message = original_of(message, domains)
    if not message.readable and message.broken:
        finish(session, row, InboundStatus.QUARANTINED,
               "unreadable: inget i meddelandet gick att läsa (" + "; ".join(message.broken)[:300]
               + ")")
        return Outcome(inbound_id, row.status, row.reason)

    refs = thread_refs(message, org.kommun.prefix)
    existing = find_case(session, refs) if refs else None
    if existing is not None:
        return thread_reply(app, session, [row], existing, message.text,
                            _same_sender(existing, message))
    note = written_down(message, from_staff(message.sender, domains))
    if note is not None:  # staff wrote down what a person said: the person's case
        return register_written_down(app, session, row, message, note)
    if opening:  # the batch counts the senders' recent mail together
        return open_registration(app, session, [row], message, count_sent=False)
    return register_message(app, session, [row], message)


def _set_aside(app: App, row: Inbound, message: Message, *, web_form: bool) -> Screened | None:
    """Why the message is automatic or spam, or None. A web form's mail is a
    person's by definition: only the spam verdicts apply to it."""
    context = app.screen_context
    found = spam_verdict(message, context) if web_form else screen(message, context)
    if found is not None or app.spam_filter is None:
        return found
    try:
        verdict = app.spam_filter.check(row.raw)
    except TransientError as exc:  # a citizen is never kept waiting for a filter
        log.warning("spam filter not asked inbound_id=%s error=%s", row.id, exc)
        return None
    return Screened("spam", verdict.detail) if verdict.spam else None


def _same_sender(case: Case, message: Message) -> bool:
    contact = case.contact
    return bool(contact and message.sender and contact.email == message.sender)
