"""The embedded single-process mode: drop folder in, .eml files out.

``run_once`` does one full pass: collect what is waiting in the Maildir,
process every stored message that is still ``received`` (each batch's
receipts and notices delivered beside it, ``workers.courier``), deliver what
else is due in the outbox. ``run_forever`` repeats it until SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from cases.inbound import store_raw
from config.errors import PermanentError, TransientError
from config.unexpected import log_unexpected
from ingest.maildir import MaildirSource
from notify import attempt, outbox, sending
from service import sms_intake
from service.app import App
from service.batch import prime, process_batch
from service.gallring import DailyGallring
from service.pipeline import Outcome, pending_inbound
from service.reminders import MorningJobs
from workers.courier import Courier
from workers.heartbeat import Heartbeat, heartbeat_of
from workers.listener import Listener, chunks
from workers.runner import EXPECTED, Runner

log = logging.getLogger(__name__)
# Mails classified in one model call and registered in one transaction
# (service.batch.prime, process_batch): large enough that spaCy's and
# the database's per-call costs are spread thin, small enough that a pass
# shows progress and holds few raw mails at once.
PRIME_BATCH = 64


@dataclass
class Pass:
    stored: list[int] = field(default_factory=list)  # inbound ids stored in this pass
    outcomes: list[Outcome] = field(default_factory=list)
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    sms_error: str | None = None  # the gateway could not be asked this pass


def maildir_source(app: App) -> MaildirSource:
    source = MaildirSource(app.settings.inbox)
    source.ensure()
    return source


def collect(app: App, source: MaildirSource) -> list[int]:
    """Store every waiting message (commit first), then move it to Behandlad."""
    stored: list[int] = []
    for item in source.pending():
        with app.sessions.begin() as session:
            result = store_raw(session, source.name, item.key, item.raw,
                               received_at=app.clock())
        source.acknowledge(item.key)
        if result.created:
            stored.append(result.inbound_id)
    return stored


def collect_imap(app: App) -> list[int]:
    """One sync of every configured IMAP mailbox (``run`` without Redis)."""
    from workers.production import imap_accounts, mailbox

    stored: list[int] = []
    for account in imap_accounts(app):
        box = mailbox(app, account)
        box.connect()
        try:
            stored += Listener(app, box, lambda _inbound_id: None).sync()
        finally:
            box.close()
    return stored


def collect_sms(app: App, report: Pass) -> None:
    """One reconciliation with the SMS gateway; a gateway away is reported,
    not fatal: the mail still flows and the next pass asks again."""
    if app.gateway is None:
        return
    try:
        report.stored += sms_intake.poll(app, app.gateway, lambda _inbound_id: None)
    except (TransientError, PermanentError) as exc:
        report.sms_error = str(exc)
        log.warning("sms poll failed error=%s", type(exc).__name__)


def reconcile_sms(app: App) -> None:
    """Settle uncertain SMS against the gateway's history (a lost answer)."""
    assert app.gateway is not None
    try:
        outbox.reconcile_uncertain(app.sessions, app.gateway.find_sent, app.clock())
    except EXPECTED as exc:  # the database or the gateway away: next pass
        log.warning("sms reconciliation failed error=%s", type(exc).__name__)
    except Exception as exc:  # a bug: the rest of the pass goes on
        log_unexpected(log, "sms reconciliation", exc)


def run_once(app: App, progress: Callable[[str], None] | None = None,
             poll_sms: bool = True, morning: MorningJobs | None = None,
             heartbeat: Heartbeat | None = None) -> Pass:
    """Collect (IMAP when SYNPUNKT_IMAP_URL is set, else the Maildir; and the
    SMS gateway when one is set), process what is waiting in this process,
    deliver what is due. With ``heartbeat``, the pass beats as it goes and
    its delivery claims name this process."""
    report = Pass()
    report.stored = collect_imap(app) if app.settings.imap_url else collect(
        app, maildir_source(app))
    if poll_sms:
        collect_sms(app, report)
    waiting = pending_inbound(app)
    claimer = heartbeat.process_id if heartbeat is not None else None
    courier = Courier(app, claimer)  # each batch's receipts go while the next is processed
    try:
        for batch in chunks(waiting, PRIME_BATCH):  # a batch's mails in one model call
            before = len(report.outcomes)
            try:
                process_batch(app, batch, prime(app, batch), report.outcomes)
            finally:  # what committed goes out even when the rest must wait
                courier.hand([i for o in report.outcomes[before:] for i in o.outbox_ids])
            if progress:
                progress(f"behandlat {len(report.outcomes)}/{len(waiting)} meddelanden")
            if heartbeat is not None:
                heartbeat.tick()
    finally:
        statuses = courier.finish()
    if app.gateway is not None and poll_sms:
        reconcile_sms(app)
    (morning or MorningJobs())(app)  # the chefs' digests and the delay notices
    due = outbox.due_ids(app.sessions, app.clock(), app.delivery_policy.silent_claimer)
    for ids in chunks(due, attempt.CLAIM_BATCH):  # claimed together, sent one by one
        statuses.update(sending.deliver_many(app.sessions, app.transports, ids, app.clock(),
                                             app.delivery_policy, claimer))
        if heartbeat is not None:
            heartbeat.tick()
    for status in statuses.values():
        if status == "sent":
            report.delivered += 1
        elif status == "failed":
            report.failed += 1
        else:
            report.retrying += 1
    return report


class EmbeddedRun(Runner):
    """``synpunkt run``: a pass every ``SYNPUNKT_POLL_SECONDS`` (the SMS gateway
    asked every ``SYNPUNKT_SMS_POLL_SECONDS``), under the runner."""

    name = "embedded run"

    def __init__(self, app: App, on_pass: Callable[[Pass], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        super().__init__(heartbeat_of(app, "run", "run",
                                      success_within=app.settings.poll_seconds + 120), stop)
        self.app = app
        self.on_pass = on_pass
        self.gallring = DailyGallring()
        self.morning = MorningJobs()
        self.last_sms_poll = -float("inf")

    def do_round(self) -> None:
        app = self.app
        poll_sms = time.monotonic() - self.last_sms_poll >= app.settings.sms_poll_seconds
        if poll_sms:
            self.last_sms_poll = time.monotonic()
        report = run_once(app, poll_sms=poll_sms, morning=self.morning, heartbeat=self.heartbeat)
        self.gallring(app)  # once a day, per the kommun's gallringsbeslut
        self.heartbeat.report("running", success=True)
        if self.on_pass:
            self.on_pass(report)

    def snooze(self) -> None:
        self.heartbeat.sleep(self.stop, self.app.settings.poll_seconds)

    def backoff(self, failures: int) -> float:
        return float(self.app.settings.poll_seconds)  # a full disk, a database away: next pass

    def failed(self, exc: BaseException, detail: str, delay: float) -> None:
        log.error("pass failed, retrying in %.0fs: %s", delay,
                  detail if isinstance(exc, EXPECTED) else type(exc).__name__)
        self.heartbeat.report("retrying", failing=True, detail=detail[:200])


def run_forever(app: App, on_pass: Callable[[Pass], None] | None = None) -> None:
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on signal %s", signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    log.info("embedded run started inbox=%s poll_seconds=%s",
             app.settings.inbox, app.settings.poll_seconds)
    EmbeddedRun(app, on_pass, stop).run()
