"""One IMAP mailbox through imapclient, with its exceptions translated into
TransientError (connection lost, server busy) and PermanentError (login refused).

Only what the listener needs: the UIDVALIDITY, the UIDs still waiting, their
raw bytes fetched with BODY.PEEK[] (nothing is marked seen by reading), the
move to the processed folder (or a keyword where MOVE is not possible), and
IDLE.

A connection can die three ways while it idles, and each is noticed:
- the server closes it (a restart, SIGKILL, a BYE): the socket turns
  readable with nothing to read, and IDLE ends at once;
- the peer's host vanishes (a crash, a cable): TCP keepalive probes go
  unanswered and the kernel reports the error within ``KEEPALIVE``;
- something in between forgets the connection without a word (a NAT, a
  load balancer, a proxy): only an answer proves the server is there, so
  IDLE is ended with DONE at the listener's re-issue period and an answer
  is awaited for at most ``ANSWER_SECONDS``.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import imapclient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from config.errors import PermanentError, TransientError
from ingest.imapurl import ImapAccount

log = logging.getLogger(__name__)

STORED_KEYWORD = "$SynpunktLagrad"
TokenProvider = Callable[[ImapAccount], str]
# TCP keepalive: the first probe after this many idle seconds, then one per
# interval, the connection dead after this many unanswered (about 90 s).
KEEPALIVE = (60, 10, 3)
# How long a live server may take to answer DONE: the proof that an idling
# connection still reaches it.
ANSWER_SECONDS = 20.0


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except LoginError as exc:
        raise PermanentError(f"IMAP: inloggningen nekades ({what})") from exc
    except (IMAPClientAbortError, OSError, ssl.SSLError, EOFError) as exc:
        reason = type(exc).__name__
        raise TransientError(f"IMAP: förbindelsen bröts under {what}: {reason}") from exc
    except IMAPClientError as exc:
        raise TransientError(f"IMAP: {what} misslyckades: {exc}") from exc


class ImapMailbox:
    def __init__(self, account: ImapAccount, *, ssl_context: ssl.SSLContext | None = None,
                 token_provider: TokenProvider | None = None, timeout: float = 60.0) -> None:
        self.account = account
        self.ssl_context = ssl_context
        self.token_provider = token_provider
        self.timeout = timeout
        self._client: imapclient.IMAPClient | None = None
        self.uidvalidity = 0
        self.can_idle = False
        self.can_move = False

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise TransientError("IMAP: inte ansluten")
        return self._client

    def connect(self) -> None:
        a = self.account
        context = self.ssl_context or ssl.create_default_context()
        with _translated("anslutning"):
            client = imapclient.IMAPClient(a.host, port=a.port, ssl=a.implicit_tls,
                                           ssl_context=context, timeout=self.timeout)
            self._client = client
            _keep_alive(client.socket())
            if a.starttls:
                client.starttls(context)
            if a.xoauth2:
                if self.token_provider is None:
                    raise PermanentError("IMAP: auth=xoauth2 kräver en token-källa "
                                         "(SYNPUNKT_IMAP_OAUTH2_TOKEN_COMMAND)")
                client.oauth2_login(a.username, self.token_provider(a))
            elif (a.password or "").isascii() and a.username.isascii():
                client.login(a.username, a.password or "")
            else:  # LOGIN is ASCII-only; AUTHENTICATE PLAIN carries UTF-8
                client.plain_login(a.username, a.password or "")
            self.can_idle = client.has_capability("IDLE")
            self.can_move = client.has_capability("MOVE") and bool(a.processed_folder)
            if self.can_move and not client.folder_exists(a.processed_folder):
                client.create_folder(a.processed_folder)
            info: dict[bytes, Any] = client.select_folder(a.folder)
            self.uidvalidity = int(info[b"UIDVALIDITY"])

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # already broken: nothing to tidy
            with contextlib.suppress(Exception):
                client.shutdown()

    def waiting_uids(self) -> list[int]:
        """Every message in the folder not yet marked as stored, oldest first."""
        criteria = ["ALL"] if self.can_move else ["NOT", "KEYWORD", STORED_KEYWORD]
        with _translated("sökning"):
            return sorted(int(u) for u in self.client.search(criteria))

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        with _translated("hämtning"):
            found = self.client.fetch(uids, ["BODY.PEEK[]"])
        return {int(uid): data[b"BODY[]"] for uid, data in found.items() if b"BODY[]" in data}

    def mark_stored(self, uids: list[int]) -> None:
        """Move to the processed folder, or flag with a keyword where MOVE is not possible."""
        if not uids:
            return
        with _translated("flytt"):
            if self.can_move:
                self.client.move(uids, self.account.processed_folder)
            else:
                self.client.add_flags(uids, [STORED_KEYWORD])

    def take_announced(self) -> bool:
        """True when the server announced new mail (EXISTS) during the
        commands since the last call. Such an announcement is made once: mail
        that arrives while a sync is fetching and moving would otherwise wait
        in the folder until the next mail or the next IDLE re-issue."""
        pending = getattr(getattr(self.client, "_imap", None), "untagged_responses", None)
        if not isinstance(pending, dict):
            return False  # cannot tell: IDLE and its re-issue will find it
        return pending.pop("EXISTS", None) is not None

    def wait(self, seconds: float, stop: Callable[[], bool],
             tick: Callable[[], None] | None = None) -> bool:
        """IDLE up to ``seconds`` (or sleep, without IDLE); True when the server
        reported a change. Returns early when ``stop()`` becomes true;
        ``tick()`` is called about once a second meanwhile. Raises
        TransientError when the connection turns out dead: closed by the
        server, reset, or silent when IDLE ends (no answer to DONE)."""
        deadline = time.monotonic() + seconds
        if not self.can_idle:
            while time.monotonic() < deadline and not stop():
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
                if tick is not None:
                    tick()
            return False
        client = self.client
        with _translated("IDLE"):
            client.idle()
            changed = False
            try:
                while not changed and not stop() and time.monotonic() < deadline:
                    if tick is not None:
                        tick()
                    if self._buffered(client):
                        # The server announced a change with its "+ idling"
                        # (mail that came after the last sync's commands), and
                        # the library read both lines: the socket will not
                        # turn readable for it. DONE collects the line.
                        changed = True
                        break
                    left = deadline - time.monotonic()
                    if not _readable(client.socket(), min(1.0, max(0.0, left))):
                        continue
                    responses = client.idle_check(timeout=0)
                    if not responses:
                        # Readable, yet not one line to read: the server has
                        # closed the connection (or, over TLS, sent a record
                        # without data). DONE below tells which, at once.
                        log.info("IMAP: readable without data during IDLE source=%s",
                                 self.account.source)
                        break
                    if any(_is_bye(r) for r in responses):
                        raise TransientError("IMAP: servern stängde förbindelsen (BYE)")
                    changed = any(_is_change(r) for r in responses)
            finally:
                self._end_idle(client)
        return changed

    def _buffered(self, client: imapclient.IMAPClient) -> bool:
        """Has the client library already read, into its own buffer, bytes
        nobody has consumed? Looked at without waiting: the socket is made
        non-blocking for the look, so an empty buffer reads nothing."""
        peek = getattr(getattr(getattr(client, "_imap", None), "file", None), "peek", None)
        if peek is None:
            return False  # cannot tell: the re-issue will find it
        sock = client.socket()
        try:
            sock.setblocking(False)
            return bool(peek(1))
        except (OSError, ValueError):  # would block (plain or TLS): nothing buffered
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(self.timeout)

    def _end_idle(self, client: imapclient.IMAPClient) -> None:
        """DONE, and the server's answer within ANSWER_SECONDS, or the
        connection is taken for dead."""
        sock = client.socket()
        try:
            sock.settimeout(ANSWER_SECONDS)
            client.idle_done()
        except (IMAPClientError, OSError, EOFError):
            raise TransientError("IMAP: inget svar på DONE; förbindelsen är död") from None
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(self.timeout)


def _readable(sock: socket.socket, timeout: float) -> bool:
    """Has the socket something for us (data, end of file or an error)
    within ``timeout`` seconds? TLS may hold decrypted data already."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(timeout * 1000))


def _keep_alive(sock: socket.socket) -> None:
    """TCP keepalive, so a peer that vanished is found by the kernel."""
    idle, interval, count = KEEPALIVE
    with contextlib.suppress(OSError, AttributeError):  # not every platform has every option
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)


def _is_change(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] in (
        b"EXISTS", b"RECENT", b"EXPUNGE")


def _is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 1 and response[0] == b"BYE"
