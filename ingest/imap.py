"""One IMAP mailbox through imapclient, with its exceptions translated into
TransientError (connection lost, server busy) and PermanentError (login refused).

Only what the listener needs: the UIDVALIDITY, the UIDs still waiting, their
raw bytes fetched with BODY.PEEK[] (nothing is marked seen by reading), the
move to the processed folder (or a keyword where MOVE is not possible), and
IDLE.
"""

from __future__ import annotations

import contextlib
import logging
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

    def wait(self, seconds: float, stop: Callable[[], bool]) -> bool:
        """IDLE up to ``seconds`` (or sleep, without IDLE); True when the server
        reported a change. Returns early when ``stop()`` becomes true."""
        deadline = time.monotonic() + seconds
        if not self.can_idle:
            while time.monotonic() < deadline and not stop():
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
            return False
        with _translated("IDLE"):
            self.client.idle()
            changed = False
            try:
                while not changed and not stop() and time.monotonic() < deadline:
                    left = deadline - time.monotonic()
                    responses = self.client.idle_check(timeout=min(1.0, max(0.0, left)))
                    changed = any(_is_change(r) for r in responses)
                    if any(_is_bye(r) for r in responses):
                        raise TransientError("IMAP: servern stängde förbindelsen (BYE)")
            finally:
                try:
                    self.client.idle_done()
                except (IMAPClientError, OSError):
                    raise TransientError("IMAP: förbindelsen bröts under IDLE") from None
        return changed


def _is_change(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] in (
        b"EXISTS", b"RECENT", b"EXPUNGE")


def _is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 1 and response[0] == b"BYE"
