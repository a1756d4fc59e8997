"""The IMAP listener: watches the funktionsbrevlåda and stores what arrives.

For each mailbox, in a loop: connect, sync, IDLE (or sleep where the server
has no IDLE), repeat. A sync stores every waiting message's raw bytes and
the checkpoint in one transaction, enqueues processing only after that
commit, and only then moves the messages to the processed folder. A crash at
any point leaves either nothing stored (fetched again next time) or stored
messages still in the folder (recognised by key and only moved).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cases import checkpoints
from cases.db import transient_db_errors
from cases.inbound import store_many
from config.errors import PermanentError
from ingest.imap import ANSWER_SECONDS, ImapMailbox
from service.app import App
from workers.heartbeat import Heartbeat, heartbeat_of
from workers.runner import Runner

log = logging.getLogger(__name__)
Enqueue = Callable[[list[int]], None]


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    batch: int = 50
    # The ids of one fetch go to the workers in about this many per message:
    # a batch is classified in one model call and its receipts go out over
    # one connection, while a fetch of 50 still keeps every worker thread of
    # two workers busy. A lone mail goes alone, at once.
    chunk: int = 8
    # IDLE is ended and re-issued this often: the server's answer to DONE is
    # what proves a quiet connection alive, so this bounds how long a
    # connection that something in between forgot goes unnoticed (plus
    # ANSWER_SECONDS). Well inside RFC 2177's 29 minutes and the 4 to 10
    # minutes after which load balancers and NATs drop idle connections.
    idle_seconds: float = 120.0
    poll_seconds: float = 60.0  # without IDLE
    max_backoff: float = 60.0
    # The shortest time between the starts of two syncs. Under a steady stream
    # one fetch and one MOVE then carry a second's mail, not one or two: a
    # server may pay for each MOVE by the size of the folder it moves into
    # (Dovecot's Maildir rereads that folder's whole uidlist, measured at
    # about 50 ms per MOVE into a folder of 20,000). A mail after a quiet spell
    # is fetched at once.
    min_sync_seconds: float = 1.0


class Listener(Runner):
    """One mailbox's loop: connect, sync, IDLE (or poll), under the runner."""

    name = "listener"

    def __init__(self, app: App, mailbox: ImapMailbox, enqueue: Enqueue,
                 heartbeat: Heartbeat | None = None, settings: ListenerSettings | None = None,
                 stop: threading.Event | None = None) -> None:
        settings = settings or ListenerSettings()
        super().__init__(heartbeat or heartbeat_of(app, "listener", mailbox.account.source,
                                                   success_within=success_within(settings)),
                         stop)
        self.app = app
        self.mailbox = mailbox
        self.enqueue = enqueue
        self.settings = settings
        self.max_backoff = settings.max_backoff
        self.source = mailbox.account.source
        self._state = ""
        self._last_sync = -float("inf")

    @property
    def state(self) -> str:
        """The last state reported: connecting, connected, idle, polling,
        reconnecting, refused (the server refused the login) or stopped."""
        return self._state

    def _set_state(self, state: str, *, success: bool = False, failing: bool = False,
                   detail: str = "") -> None:
        if state != self._state:
            log.info("listener %s source=%s %s", state, self.source, detail)
            self._state = state
        self.heartbeat.report(state, success=success, failing=failing, detail=detail)

    def sync(self) -> list[int]:
        """Store everything waiting in the mailbox; returns the new inbound ids."""
        mb = self.mailbox
        with self.app.sessions() as session:
            seen = checkpoints.load(session, self.source)
        rescan = seen is not None and seen.uidvalidity != mb.uidvalidity
        if rescan:
            log.warning("listener UIDVALIDITY changed source=%s old=%s new=%s: rescanning",
                        self.source, seen.uidvalidity if seen else None, mb.uidvalidity)
        last_uid = seen.last_uid if seen and not rescan else 0
        waiting = mb.waiting_uids()
        already = [u for u in waiting if u <= last_uid]
        mb.mark_stored(already)  # stored before a crash, never moved
        created: list[int] = []
        fresh = [u for u in waiting if u > last_uid]
        for start in range(0, len(fresh), self.settings.batch):
            batch = fresh[start:start + self.settings.batch]
            fetched = mb.fetch(batch)
            items = [(f"{mb.uidvalidity}:{uid}", fetched[uid])
                     for uid in batch if uid in fetched]  # not: expunged meanwhile by another
            with self.app.sessions.begin() as session:
                stored = store_many(session, self.source, items, received_at=self.app.clock(),
                                    skip_twins=rescan)
                checkpoints.save(session, self.source, mb.uidvalidity, max(batch))
            new_ids = [s.inbound_id for s in stored if s.created]
            for chunk in chunks(new_ids, self.settings.chunk):  # after the commit, never before
                self._enqueue(chunk)
            mb.mark_stored([u for u in batch if u in fetched])
            created.extend(new_ids)
        if created:
            log.info("listener stored source=%s count=%s", self.source, len(created))
        return created

    def _spaced_sync(self) -> None:
        """Sync, but not sooner than ``min_sync_seconds`` after the last one began."""
        pause = self._last_sync + self.settings.min_sync_seconds - time.monotonic()
        if pause > 0 and self.stop.wait(pause):
            return  # stopping: what waits is fetched at the next start
        self._last_sync = time.monotonic()
        self.sync()

    def _enqueue(self, inbound_ids: list[int]) -> None:
        try:
            self.enqueue(inbound_ids)
        except Exception as exc:  # the scheduler's sweep picks the rows up later
            log.warning("listener enqueue failed inbound_ids=%s error=%s",
                        inbound_ids, type(exc).__name__)

    def do_round(self) -> None:
        if not self.mailbox.connected:
            if self.failures == 0:  # after a failure its state stays until a success
                self._set_state("connecting")
            self.mailbox.connect()
            self._set_state("connected", success=True,
                            detail=f"idle={self.mailbox.can_idle} move={self.mailbox.can_move}")
        with transient_db_errors():  # the database away: retry with backoff
            self.mailbox.take_announced()
            self._spaced_sync()
            while self.mailbox.take_announced():  # mail came in during the sync
                self._spaced_sync()
        self._set_state("idle" if self.mailbox.can_idle else "polling", success=True)

    def snooze(self) -> None:
        seconds = (self.settings.idle_seconds if self.mailbox.can_idle
                   else self.settings.poll_seconds)
        self.mailbox.wait(seconds, self.stop.is_set, self.heartbeat.tick)

    def failed(self, exc: BaseException, detail: str, delay: float) -> None:
        self.mailbox.close()
        # refused: a login or setting a person must fix (health says so at once)
        state = "refused" if isinstance(exc, PermanentError) else "reconnecting"
        self._set_state(state, failing=True, detail=f"{detail} (nytt försök om {delay:.1f} s)")

    def finish(self) -> None:
        self.mailbox.close()
        self._set_state("stopped")


def chunks(ids: list[int], size: int) -> list[list[int]]:
    """``ids`` in as few pieces of at most ``size`` as can be, of even length
    (50 by 8: seven of 7 or 8, not six of 8 and one of 2)."""
    if not ids:
        return []
    count = -(-len(ids) // max(1, size))
    step, extra = divmod(len(ids), count)
    pieces, start = [], 0
    for i in range(count):
        end = start + step + (1 if i < extra else 0)
        pieces.append(ids[start:end])
        start = end
    return pieces


def success_within(settings: ListenerSettings) -> float:
    """The longest a connected listener goes without hearing its server:
    one IDLE period (or poll interval), the answer to DONE, and a sync."""
    return max(settings.idle_seconds + ANSWER_SECONDS, settings.poll_seconds) + 60.0
