"""Delivery over SMTP (aiosmtplib), with SMTP's answers translated into the
project's TransientError (4xx, connection trouble) and PermanentError (5xx).

Each worker thread keeps its own connection (and event loop) open between
messages: a mail costs one SMTP transaction, not a connect, EHLO and QUIT
as well. A connection left idle is checked with NOOP before it is used again,
and any error closes it, so the next message starts on a fresh one.

The end of DATA is the point of no return: the whole message is written,
then ``commit`` records that point, and only then goes the final ".". A
failure before it is a plain failure (nothing was delivered); a connection
lost or an answer missing after it is OutcomeUnknownError.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from config.errors import OutcomeUnknownError, PermanentError, TransientError
from config.settings import LOOPBACK_HOSTS
from notify.delivery import Commit
from notify.mail import wire_address


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user:pw@]host:port`` (STARTTLS when offered; required off
    loopback) or ``smtps://`` (TLS from the start). User info percent-encoded."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SYNPUNKT_SMTP_URL ska se ut som smtp://värd:port eller smtps://värd:port")
    tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if tls else 587),
        implicit_tls=tls,
        starttls=not tls and parts.hostname not in LOOPBACK_HOSTS,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpTransport:
    # A repeated SMTP transaction reaches the recipient twice: never resend blindly.
    idempotent = False
    # Reused without a check when used this recently; servers drop idle
    # connections after minutes (RFC 5321 4.5.3.2.7 suggests 5), never seconds.
    FRESH_SECONDS = 5.0

    def __init__(self, server: SmtpServer, timeout: float = 60.0,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.timeout = timeout
        self.tls_context = tls_context
        self._local = threading.local()  # runner, client, used: one of each per thread

    def send(self, outbox_id: int, recipient: str, body: bytes,
             commit: Commit | None = None) -> None:
        try:
            self._runner().run(self._send(recipient, body, commit))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise _by_code(min(codes) if codes else 550, "mottagaren nekades") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_code(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Close this thread's connection, if it has one."""
        client = getattr(self._local, "client", None)
        if client is not None:
            self._runner().run(self._quit(client))

    def _runner(self) -> asyncio.Runner:
        runner: asyncio.Runner | None = getattr(self._local, "runner", None)
        if runner is None:
            runner = self._local.runner = asyncio.Runner()
        return runner

    async def _send(self, recipient: str, body: bytes, commit: Commit | None) -> None:
        client = await self._connection()
        try:
            # RFC 3834: an automatic response goes out with a null reverse-path,
            # so that a bounce of it is never answered.
            if commit is None:
                await client.sendmail("", [recipient], body)
            else:
                await self._transaction(client, recipient, body, commit)
        except BaseException:
            self._drop(client)  # whatever state it is in: a fresh one for the next message
            raise
        self._local.used = time.monotonic()

    async def _transaction(self, client: aiosmtplib.SMTP, recipient: str, body: bytes,
                           commit: Commit) -> None:
        """MAIL, RCPT and DATA as ``sendmail`` sends them, with ``commit``
        between the message and the final "." that makes the server take it."""
        data = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(body))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        options = [f"size={len(data)}"] if client.supports_extension("size") else []
        address, encoding = wire_address(recipient), "ascii"
        if not address.isascii():  # a UTF-8 local part (RFC 6532)
            if not client.supports_extension("smtputf8"):
                raise PermanentError("mottagarens adress har tecken utanför ASCII och "
                                     "e-postservern tar inte emot sådana (SMTPUTF8)")
            options.append("SMTPUTF8")
            encoding = "utf-8"
        await client.mail("", options=options, encoding=encoding)
        await client.rcpt(address, encoding=encoding)
        started = await client.execute_command(b"DATA")
        if started.code != 354:
            raise aiosmtplib.SMTPDataError(started.code, started.message)
        protocol = client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        protocol.write(data)
        commit()  # raises to stop here: without the "." the server discards it
        try:
            protocol.write(b".\r\n")
            answer = await protocol.read_response(timeout=self.timeout)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise OutcomeUnknownError(f"SMTP: inget svar efter meddelandet ({type(exc).__name__}); "
                                      "oklart om det kom fram") from exc
        if answer.code != 250:
            raise aiosmtplib.SMTPDataError(answer.code, answer.message)

    async def _connection(self) -> aiosmtplib.SMTP:
        client: aiosmtplib.SMTP | None = getattr(self._local, "client", None)
        if client is not None and client.is_connected:
            if time.monotonic() - getattr(self._local, "used", 0.0) < self.FRESH_SECONDS:
                return client
            try:
                await client.noop()
                return client
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                self._drop(client)
        s = self.server
        client = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, use_tls=s.implicit_tls,
            start_tls=True if s.starttls else None, timeout=self.timeout,
            username=s.username, password=s.password, tls_context=self.tls_context,
        )
        await client.connect()
        self._local.client = client
        return client

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await client.quit()
        self._drop(client)

    def _drop(self, client: aiosmtplib.SMTP) -> None:
        """Forget the connection and close its socket, without waiting for the server."""
        self._local.client = None
        client.close()


def _by_code(code: int, text: str) -> Exception:
    message = f"SMTP {code}: {text}"[:500]
    return TransientError(message) if 400 <= code < 500 else PermanentError(message)
