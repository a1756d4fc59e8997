"""The workers' and ``run --once``'s way with many stored messages at once:
parsed and classified in one model call (``prime``), then registered in one
transaction (``process_batch``), each message taking the one-message way of
``service.pipeline`` inside it, its case's diarienummer left to the end of
the batch and taken for all in one block."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from cases.db import transient_db_errors
from cases.diarium import allocate_block
from cases.inbound import claim_fingerprints
from cases.models import Inbound, InboundStatus
from cases.register import write_numbers
from config.errors import TransientError
from config.unexpected import log_unexpected
from ingest.fingerprint import fingerprint
from ingest.forward import original_of, staff_domains
from ingest.message import Channel, Message
from ingest.parse import parse
from ingest.webform import citizen_of, form_of
from notify.outbox import OutboxBatch, recent_automatic_to
from service.app import App
from service.intake import Opened, Outcome, complete_registration
from service.pipeline import process_in, process_inbound

log = logging.getLogger(__name__)

__all__ = ["prime", "process_batch"]


def prime(app: App, inbound_ids: Sequence[int]) -> dict[int, Message]:
    """Parse the mails among ``inbound_ids`` and classify them in one model
    call before they are processed (``process_batch``). Read only and best
    effort: a mail it cannot read, or that turns out otherwise on the way
    (set aside, a reply, a staff note), is simply classified on its own or
    not at all; a database that does not answer is met by the processing.
    Returns each primed mail's parsed message, for the processing to use
    rather than parse the same stored bytes again."""
    classifier = app.classifier
    if not isinstance(classifier, Primable):
        return {}
    try:
        parsed = _as_processed(app, inbound_ids)
        classifier.prime([message for _, message in parsed.values()])
    except Exception as exc:  # a shortcut only: each mail is classified on its own then
        log.warning("batch not classified ahead error=%s", type(exc).__name__)
        return {}
    return {inbound_id: raw for inbound_id, (raw, _) in parsed.items()}


def _as_processed(app: App, inbound_ids: Sequence[int]) -> dict[int, tuple[Message, Message]]:
    """The waiting mails among ``inbound_ids``, each as parsed and as
    ``pipeline.process_in`` will register it (a web form's citizen, a staff
    forward's original), one raw mail in memory at a time; the large ones
    are left to their own turn."""
    domains = staff_domains(app.kommun.organisation.kommun.staff_domains)
    limits = app.settings.limits
    messages = {}
    with app.sessions() as session:
        # streamed: one statement, one raw mail in memory at a time
        waiting = session.execute(select(Inbound.id, Inbound.raw).where(
            Inbound.id.in_(inbound_ids), Inbound.status == InboundStatus.RECEIVED,
            Inbound.channel == Channel.EMAIL,
            func.length(Inbound.raw) <= limits.parse_alone_bytes
        ).execution_options(stream_results=True, yield_per=1))
        for inbound_id, raw in waiting:
            try:
                parsed = parse(raw or b"", limits, Channel.EMAIL)
                if isinstance(parsed, Message):
                    form = form_of(parsed, app.forms)
                    message = citizen_of(parsed, form) if form is not None else parsed
                    messages[inbound_id] = (parsed, original_of(message, domains))
            except Exception as exc:  # the processing meets it and says why
                log.debug("not primed inbound_id=%s error=%s", inbound_id, type(exc).__name__)
    return messages


@runtime_checkable
class Primable(Protocol):
    def prime(self, messages: list[Message]) -> None: ...


def process_batch(app: App, inbound_ids: Sequence[int], parsed: dict[int, Message],
                  outcomes: list[Outcome]) -> None:
    """Process the mails of a batch (``prime`` has parsed and classified
    them: ``parsed``) in one transaction: the rows locked in one statement,
    their fingerprints claimed in one, the cases written together, their
    diarienummer taken in one block at the end (the series row locked only
    for the receipts, the notices and the commit, as for one mail). If
    anything in it fails, the batch is rolled back and processed one by
    one, each mail in its own transaction (``process_inbound``: an
    unexpected error quarantines only its mail). A database that does not
    answer raises TransientError, for a retry of the batch. Each outcome is
    appended to ``outcomes`` once committed, so that the caller can deliver
    what committed even when the rest raises."""
    if len(inbound_ids) > 1:
        try:
            with transient_db_errors(), app.sessions.begin() as session:
                locked = session.scalars(  # held: the session keeps rows weakly
                    select(Inbound).where(Inbound.id.in_(list(parsed)))
                    .options(defer(Inbound.raw)).order_by(Inbound.id).with_for_update()
                ).all() if parsed else []
                claimed = claim_fingerprints(session, {  # as process_in would, one by one
                    row.id: fingerprint(parsed[row.id]) for row in locked
                    if row.status == InboundStatus.RECEIVED and not row.released})
                done = _numbered(app, session, [
                    process_in(app, session, i, parsed.get(i), opening=True, claimed=claimed)
                    for i in inbound_ids])
                del locked
            outcomes.extend(done)
            return
        except TransientError:
            raise
        except Exception as exc:  # one by one: each mail's own error is its own
            log_unexpected(log, f"batch of {len(inbound_ids)}, taken one by one", exc)
    for inbound_id in inbound_ids:
        outcomes.append(process_inbound(app, inbound_id, parsed.get(inbound_id)))


def _numbered(app: App, session: Session, done: list[Outcome | Opened]) -> list[Outcome]:
    """Complete the batch's opened registrations: their cases written in one
    flush, their senders' recent automatic mail counted in one statement,
    then their diarienummer taken in one block per year and written in one
    statement, and their receipts, notices and events written in one
    statement each (``OutboxBatch``, PostgreSQL)."""
    opened = [o for o in done if isinstance(o, Opened)]
    if not opened:
        return [o for o in done if isinstance(o, Outcome)]
    session.flush()  # all that waits is written before the series row is locked
    senders = {o.message.sender for o in opened if o.message.sender is not None}
    sent = recent_automatic_to(session, senders,
                               min(o.now for o in opened) - app.auto_reply_limit.window)
    prefix = app.kommun.organisation.kommun.prefix
    numbers: dict[int, tuple[str, int]] = {}  # by place in ``opened``
    for year in sorted({o.year for o in opened if o.registered.diarieford}):
        places = [i for i, o in enumerate(opened) if o.registered.diarieford and o.year == year]
        numbers.update(zip(places, allocate_block(session, prefix, year, len(places)),
                           strict=True))
    write_numbers(session, [(opened[place].registered.case, number, opened[place].year)
                            for place, number in numbers.items()])
    receipts: Counter[str] = Counter()  # queued earlier in the batch, per sender
    completed = []
    with OutboxBatch().open(session):  # the batch's mail written in one statement
        for place, o in enumerate(opened):
            sender = o.message.sender
            counted = replace(o, sent_recently=sent.get(sender, 0) + receipts[sender]
                              if sender is not None else 0)
            outcome = complete_registration(app, session, counted, numbers.get(place))
            if sender is not None and outcome.receipt_outbox_id is not None:
                receipts[sender] += 1
            completed.append(outcome)
    numbered = iter(completed)
    return [next(numbered) if isinstance(o, Opened) else o for o in done]
