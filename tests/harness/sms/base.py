"""What the gateway emulators share: the HTTP server, the stored SMS, the test
controls and the webhook machinery. Each provider's API and webhooks are in
its own module (``elks.py``, ``twilio.py``), as in the application's ``ingest/sms/``.

The server (``ThreadingHTTPServer`` on 127.0.0.1, a free port) answers the gateway's REST
API as its public documentation describes it, and POSTs webhooks (incoming SMS, delivery
reports) from background threads.

Credentials in a webhook URL (``http://user:pass@host/path``) are removed from the URL
and sent as HTTP Basic authentication, as both gateways do.

Misbehaviour on demand: :meth:`GatewayEmulator.fail_next` (API errors),
:attr:`GatewayEmulator.slow_seconds` (slow API answers), and the ``deliver``,
``duplicate`` and ``delay`` arguments of :meth:`GatewayEmulator.incoming` (lost,
duplicated and reordered webhooks).
"""

from __future__ import annotations

import base64
import hmac
import http.client
import json
import math
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Literal, Self
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

Direction = Literal["incoming", "outgoing", "reply"]

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ALPHANUMERIC_SENDER = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,10}$")
WEBHOOK_TIMEOUT = 3.0
CALLBACK_DELAY = 0.05
EXIT_JOIN_SECONDS = 5.0

# GSM 03.38: the basic character set (without the escape) and the extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def sms_segments(text: str) -> int:
    """Number of SMS parts for `text`: GSM-7 when every character is in GSM 03.38 (basic or
    extension, the latter counting two septets), else UCS-2 (UTF-16 code units)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def split_userinfo(url: str) -> tuple[str, str | None]:
    """`url` without ``user:password@`` and the matching Basic ``Authorization`` value."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return clean, "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


@dataclass
class Sms:
    id: str
    direction: Direction
    sender: str
    to: str
    message: str
    created: datetime
    seq: int
    status: str
    delivered: datetime | None = None
    updated: datetime | None = None
    status_url: str | None = None


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str


def text_answer(status: int, message: str) -> Answer:
    return Answer(status, message.encode("utf-8"), "text/plain; charset=utf-8")


def json_answer(status: int, data: object) -> Answer:
    return Answer(status, json.dumps(data).encode("utf-8"), "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: GatewayEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) while the answer was delayed is not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "GatewayEmulator/1.0"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        answer = self.server.emulator._handle(method, self.path,
                                              self.headers.get("Authorization"), body)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer.status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="api"')
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class GatewayEmulator:
    """One SMS gateway on loopback, per its public documentation; a subclass
    per provider answers its API and sends its webhooks (see the module doc)."""

    provider: ClassVar[str]
    api_root: ClassVar[str]  # the API's path on the server: api_url ends with it
    id_prefix: ClassVar[str]
    # The provider's words for the directions of an incoming SMS, an API send and a reply.
    directions: ClassVar[Mapping[Direction, str]]
    outgoing_status: ClassVar[str]  # the status of an SMS sent through the API

    def __init__(self, *, username: str, password: str, number: str,
                 webhook_url: str | None = None, webhook_retry_seconds: float = 0.2,
                 webhook_attempts: int = 5) -> None:
        self.username = username
        self.password = password
        self.number = number
        self.webhook_url: str | None = webhook_url
        self.webhook_retry_seconds = webhook_retry_seconds
        self.webhook_attempts = webhook_attempts
        self.slow_seconds: float = 0.0
        self.requests: list[tuple[str, str]] = []
        self.api_url = ""
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._messages: list[Sms] = []
        self._attempts: dict[str, list[int]] = {}
        self._fail_count = 0
        self._fail_status = 500
        self._pending = 0
        self._seq = 0
        self._last_auto_created: datetime | None = None
        self._threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        port = server.server_address[1]
        self.api_url = f"http://127.0.0.1:{port}/{self.api_root}"
        self._server = server
        self._server_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.provider}-emulator", daemon=True)
        self._server_thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._server_thread is not None:
            self._server_thread.join(timeout=EXIT_JOIN_SECONDS)
        deadline = time.monotonic() + EXIT_JOIN_SECONDS
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # -- test controls ---------------------------------------------------------------------

    def incoming(self, sender: str, text: str, *, deliver: bool = True, duplicate: bool = False,
                 delay: float = 0.0, created: datetime | None = None) -> str:
        """A citizen's SMS to the gateway number; returns the gateway's message id."""
        with self._lock:
            sms = self._store("incoming", sender, self.number, text, created)
            url = self.webhook_url
            if url is None or not deliver:
                return sms.id
            self._pending += 1
        self._spawn(self._deliver_incoming, sms, url, 2 if duplicate else 1, delay)
        return sms.id

    def fail_next(self, count: int, status: int = 500) -> None:
        """The next `count` API requests answer `status` with a short text body."""
        with self._lock:
            self._fail_count = count
            self._fail_status = status

    def outgoing(self) -> list[dict[str, str]]:
        """SMS sent through the API, oldest first."""
        with self._lock:
            result = []
            for sms in sorted(self._messages, key=lambda m: m.seq):
                if sms.direction != "outgoing":
                    continue
                item = {"id": sms.id, "from": sms.sender, "to": sms.to, "message": sms.message}
                if sms.status_url is not None:
                    item["status_url"] = sms.status_url
                result.append(item)
            return result

    def history(self) -> list[dict[str, str]]:
        """Every SMS (incoming, sent, replies), oldest first, in the provider's words for
        the direction and status."""
        with self._lock:
            return [{"id": sms.id, "direction": self.directions[sms.direction],
                     "from": sms.sender, "to": sms.to, "message": sms.message,
                     "status": sms.status}
                    for sms in sorted(self._messages, key=lambda m: m.seq)]

    def webhook_attempts_made(self, message_id: str) -> list[int]:
        """HTTP status of every webhook attempt about `message_id` (0: connection error)."""
        with self._lock:
            return list(self._attempts.get(message_id, []))

    def wait_for_webhooks(self, timeout: float = 5.0) -> None:
        """Block until no webhook or delivery report is pending; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self._pending} webhook(s) still pending")
                self._idle.wait(left)

    # -- state (call with the lock held) ---------------------------------------------------

    def _store(self, direction: Direction, sender: str, to: str, text: str,
               created: datetime | None, status_url: str | None = None) -> Sms:
        if created is None:
            # Strictly increasing, so that timestamps used as page cursors are unique.
            created = datetime.now(UTC)
            last = self._last_auto_created
            if last is not None and created <= last:
                created = last + timedelta(microseconds=1)
            self._last_auto_created = created
        elif created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        status = {"incoming": "received", "outgoing": self.outgoing_status,
                  "reply": "delivered"}[direction]
        self._seq += 1
        sms = Sms(self.id_prefix + secrets.token_hex(16), direction, sender, to, text,
                  created.astimezone(UTC), self._seq, status, status_url=status_url)
        if direction == "reply":
            sms.delivered = sms.created
        self._messages.append(sms)
        return sms

    def _render_one(self, message_id: str,
                    render: Callable[[Sms], dict[str, object]]) -> dict[str, object] | None:
        """``render`` of the SMS with that id, with the lock held; None when there is none."""
        with self._lock:
            for sms in self._messages:
                if sms.id == message_id:
                    return render(sms)
        return None

    # -- webhooks --------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

        thread = threading.Thread(target=run, name=f"{self.provider}-webhook", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _post(self, url: str, fields: list[tuple[str, str]],
              headers: Mapping[str, str] | None = None) -> tuple[int, str]:
        """POST a form; (status, body) or (0, "") on a connection error."""
        clean, authorization = split_userinfo(url)
        parts = urlsplit(clean)
        body = urlencode(fields).encode("utf-8")
        all_headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "User-Agent": f"GatewayEmulator ({self.provider})"}
        if authorization is not None:
            all_headers["Authorization"] = authorization
        all_headers.update(headers or {})
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                            else http.client.HTTPConnection)
        connection = connection_class(parts.hostname or "127.0.0.1", parts.port,
                                      timeout=WEBHOOK_TIMEOUT)
        try:
            connection.request("POST", target, body=body, headers=all_headers)
            response = connection.getresponse()
            text = response.read(1_000_000).decode("utf-8", errors="replace")
            return response.status, text
        except (OSError, http.client.HTTPException):
            return 0, ""
        finally:
            connection.close()

    def _attempt_loop(self, message_id: str, send: Callable[[], tuple[int, str]]) -> str | None:
        """Try a webhook as the provider does; the successful answer's body, else None."""
        for attempt in range(max(1, self._webhook_tries())):
            if attempt and self._stop.wait(self.webhook_retry_seconds):
                return None
            if self._stop.is_set():
                return None
            status, body = send()
            with self._lock:
                self._attempts.setdefault(message_id, []).append(status)
            if self._webhook_accepted(status):
                return body
        return None

    def _deliver_incoming(self, sms: Sms, url: str, times: int, delay: float) -> None:
        if delay > 0 and self._stop.wait(delay):
            return
        for _ in range(times):
            reply = self._send_incoming(sms, url)
            if reply:
                with self._lock:
                    self._store("reply", self.number, sms.sender, reply, None)

    def _deliver_report(self, sms: Sms, url: str) -> None:
        if self._stop.wait(CALLBACK_DELAY):
            return
        now = datetime.now(UTC)
        with self._lock:
            sms.status = "delivered"
            sms.delivered = now
            sms.updated = now
        self._send_report(sms, url, now)

    # -- the API ---------------------------------------------------------------------------

    def _handle(self, method: str, path: str, authorization: str | None,
                body: bytes) -> Answer:
        with self._lock:
            self.requests.append((method, path))
            slow = self.slow_seconds
        if slow > 0:
            self._stop.wait(slow)
        with self._lock:
            if self._fail_count > 0:
                self._fail_count -= 1
                return text_answer(self._fail_status, "Emulated gateway failure")
        if not self._authorized(authorization):
            return self._unauthorized()
        parts = urlsplit(path)
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        return self._route(method, parts.path, parts.query, form)

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            pair = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except ValueError:
            return False
        expected = f"{self.username}:{self.password}"
        return hmac.compare_digest(pair.encode("utf-8"), expected.encode("utf-8"))

    # -- what each provider does its own way -----------------------------------------------

    def _webhook_tries(self) -> int:
        """How many times a webhook is tried before the gateway gives up."""
        raise NotImplementedError

    def _webhook_accepted(self, status: int) -> bool:
        """Does the receiver's answer `status` end the attempts?"""
        raise NotImplementedError

    def _send_incoming(self, sms: Sms, url: str) -> str:
        """POST the incoming-SMS webhook; the reply SMS its answer asks for ('' when none)."""
        raise NotImplementedError

    def _send_report(self, sms: Sms, url: str, delivered: datetime) -> None:
        """POST the delivery report of a sent SMS."""
        raise NotImplementedError

    def _unauthorized(self) -> Answer:
        """The answer to an API request without the right credentials."""
        raise NotImplementedError

    def _route(self, method: str, path: str, raw_query: str, form: dict[str, str]) -> Answer:
        """Answer an authenticated API request (``form``: the POSTed fields)."""
        raise NotImplementedError
