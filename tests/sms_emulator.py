"""A local stand-in for two SMS gateways, 46elks and Twilio, for tests without the internet.

    with GatewayEmulator("46elks", username="u", password="p", number="+46766860000",
                         webhook_url="http://127.0.0.1:8000/sms") as gw:
        sms_id = gw.incoming("+46701234567", "Gatlampan är trasig")
        gw.wait_for_webhooks()
        adapter = SomeAdapter(api_url=gw.api_url, ...)

The server (``ThreadingHTTPServer`` on 127.0.0.1, a free port) answers the gateway's REST
API as its public documentation describes it, and POSTs webhooks (incoming SMS, delivery
reports) from background threads:

* 46elks (https://46elks.com/docs): ``{api_url}/sms`` (GET: history with ``to``,
  ``limit``, ``start``, ``end``, paged by ``next``; POST: send), ``{api_url}/sms/{id}``.
  Incoming-SMS webhooks are form posts with ``direction``, ``id``, ``from``, ``to``,
  ``message``, ``created``, retried until the receiver answers 200–204; a non-empty
  answer body is sent back to the citizen as an ``outgoing-reply`` SMS.
* Twilio (Message resource, webhook security): ``{api_url}/Accounts/{sid}/Messages.json``
  (GET list with ``To``, ``From``, ``DateSent``/``DateSent>``/``DateSent<``, ``PageSize``,
  ``Page``, ``PageToken``; POST create), ``.../Messages/{sid}.json``. Webhooks carry an
  ``X-Twilio-Signature`` (see :func:`twilio_signature`) and are tried once only. A TwiML
  answer ``<Response><Message>text</Message></Response>`` becomes an ``outbound-reply``.

Credentials in a webhook URL (``http://user:pass@host/path``) are removed from the URL
and sent as HTTP Basic authentication, as both gateways do.

Misbehaviour on demand: :meth:`GatewayEmulator.fail_next` (API errors),
:attr:`GatewayEmulator.slow_seconds` (slow API answers), and the ``deliver``,
``duplicate`` and ``delay`` arguments of :meth:`GatewayEmulator.incoming` (lost,
duplicated and reordered webhooks).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import http.client
import json
import math
import re
import secrets
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

Provider = Literal["46elks", "twilio"]

TWILIO_API_VERSION = "2010-04-01"
ELKS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
ELKS_DELIVERED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ELKS_COST_PER_PART = 3500
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


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature``: base64(HMAC-SHA1(auth token, URL + every POST
    parameter name immediately followed by its value, sorted by name))."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


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


def elks_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ELKS_TIME_FORMAT)


def rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def _parse_elks_time(value: str) -> datetime:
    text = value.strip().removesuffix("Z")
    for fmt in (ELKS_TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(value)


def _parse_twilio_date(value: str) -> datetime | date:
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class _Sms:
    id: str
    direction: Literal["incoming", "outgoing", "reply"]
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
class _Answer:
    status: int
    body: bytes
    content_type: str


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


def _text(status: int, message: str) -> _Answer:
    return _Answer(status, message.encode("utf-8"), "text/plain; charset=utf-8")


def _json(status: int, data: object) -> _Answer:
    return _Answer(status, json.dumps(data).encode("utf-8"), "application/json")


class GatewayEmulator:
    """46elks or Twilio on loopback, per their public documentation; see the module doc."""

    def __init__(self, provider: Provider, *, username: str, password: str, number: str,
                 webhook_url: str | None = None, webhook_retry_seconds: float = 0.2,
                 webhook_attempts: int = 5) -> None:
        if provider not in ("46elks", "twilio"):
            raise ValueError(f"unknown provider {provider!r}")
        self.provider: Provider = provider
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
        self._messages: list[_Sms] = []
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

    def __enter__(self) -> GatewayEmulator:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        port = server.server_address[1]
        base = "a1" if self.provider == "46elks" else TWILIO_API_VERSION
        self.api_url = f"http://127.0.0.1:{port}/{base}"
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
            return [{"id": sms.id, "direction": self._direction(sms), "from": sms.sender,
                     "to": sms.to, "message": sms.message, "status": sms.status}
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

    def _new_id(self) -> str:
        return ("s" if self.provider == "46elks" else "SM") + secrets.token_hex(16)

    def _store(self, direction: Literal["incoming", "outgoing", "reply"], sender: str, to: str,
               text: str, created: datetime | None, status: str | None = None,
               status_url: str | None = None) -> _Sms:
        if created is None:
            # Strictly increasing, so that timestamps used as page cursors are unique.
            created = datetime.now(UTC)
            last = self._last_auto_created
            if last is not None and created <= last:
                created = last + timedelta(microseconds=1)
            self._last_auto_created = created
        elif created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        if status is None:
            status = {"incoming": "received", "outgoing": "created", "reply": "delivered"}[
                direction]
            if self.provider == "twilio" and direction == "outgoing":
                status = "queued"
        self._seq += 1
        sms = _Sms(self._new_id(), direction, sender, to, text, created.astimezone(UTC),
                   self._seq, status, status_url=status_url)
        if direction == "reply":
            sms.delivered = sms.created
        self._messages.append(sms)
        return sms

    def _direction(self, sms: _Sms) -> str:
        if self.provider == "46elks":
            return {"incoming": "incoming", "outgoing": "outgoing",
                    "reply": "outgoing-reply"}[sms.direction]
        return {"incoming": "inbound", "outgoing": "outbound-api",
                "reply": "outbound-reply"}[sms.direction]

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
        attempts = self.webhook_attempts if self.provider == "46elks" else 1
        for attempt in range(max(1, attempts)):
            if attempt and self._stop.wait(self.webhook_retry_seconds):
                return None
            if self._stop.is_set():
                return None
            status, body = send()
            with self._lock:
                self._attempts.setdefault(message_id, []).append(status)
            ok = 200 <= status <= 204 if self.provider == "46elks" else 200 <= status < 300
            if ok:
                return body
        return None

    def _deliver_incoming(self, sms: _Sms, url: str, times: int, delay: float) -> None:
        if delay > 0 and self._stop.wait(delay):
            return
        for _ in range(times):
            if self.provider == "46elks":
                fields = [("direction", "incoming"), ("id", sms.id), ("from", sms.sender),
                          ("to", sms.to), ("message", sms.message),
                          ("created", elks_time(sms.created))]
                answer = self._attempt_loop(sms.id, partial(self._post, url, fields))
                reply = answer.strip() if answer else ""
            else:
                fields = [("MessageSid", sms.id), ("SmsSid", sms.id), ("SmsMessageSid", sms.id),
                          ("AccountSid", self.username), ("From", sms.sender), ("To", sms.to),
                          ("Body", sms.message), ("NumMedia", "0"),
                          ("NumSegments", str(sms_segments(sms.message))),
                          ("SmsStatus", "received"), ("ApiVersion", TWILIO_API_VERSION)]
                answer = self._attempt_loop(sms.id, partial(self._post_signed, url, fields))
                reply = _twiml_reply(answer or "")
            if reply:
                with self._lock:
                    self._store("reply", self.number, sms.sender, reply, None)

    def _post_signed(self, url: str, fields: list[tuple[str, str]]) -> tuple[int, str]:
        clean, _ = split_userinfo(url)
        signature = twilio_signature(self.password, clean, dict(fields))
        return self._post(url, fields, {"X-Twilio-Signature": signature})

    def _deliver_report(self, sms: _Sms, url: str) -> None:
        if self._stop.wait(CALLBACK_DELAY):
            return
        now = datetime.now(UTC)
        with self._lock:
            sms.status = "delivered"
            sms.delivered = now
            sms.updated = now
        if self.provider == "46elks":
            fields = [("id", sms.id), ("status", "delivered"),
                      ("delivered", now.strftime(ELKS_DELIVERED_FORMAT))]
            self._attempt_loop(sms.id, partial(self._post, url, fields))
        else:
            fields = [("MessageSid", sms.id), ("MessageStatus", "delivered"),
                      ("AccountSid", self.username), ("From", sms.sender), ("To", sms.to),
                      ("SmsSid", sms.id), ("SmsStatus", "delivered")]
            self._attempt_loop(sms.id, partial(self._post_signed, url, fields))

    # -- the API ---------------------------------------------------------------------------

    def _handle(self, method: str, path: str, authorization: str | None,
                body: bytes) -> _Answer:
        with self._lock:
            self.requests.append((method, path))
            slow = self.slow_seconds
        if slow > 0:
            self._stop.wait(slow)
        with self._lock:
            if self._fail_count > 0:
                self._fail_count -= 1
                return _text(self._fail_status, "Emulated gateway failure")
        if not self._authorized(authorization):
            if self.provider == "46elks":
                return _text(401, "API access requires Basic HTTP authentication")
            return _json(401, {"code": 20003, "message": "Authenticate",
                               "more_info": "https://www.twilio.com/docs/errors/20003",
                               "status": 401})
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        if self.provider == "46elks":
            return self._handle_elks(method, parts.path, query, form)
        return self._handle_twilio(method, parts.path, parts.query, query, form)

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            pair = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except ValueError:
            return False
        expected = f"{self.username}:{self.password}"
        return hmac.compare_digest(pair.encode("utf-8"), expected.encode("utf-8"))

    # 46elks

    def _handle_elks(self, method: str, path: str, query: dict[str, str],
                     form: dict[str, str]) -> _Answer:
        if path == "/a1/sms" and method == "GET":
            return self._elks_history(query)
        if path == "/a1/sms" and method == "POST":
            return self._elks_send(form)
        match = re.fullmatch(r"/a1/sms/([^/]+)", path)
        if match and method == "GET":
            with self._lock:
                for sms in self._messages:
                    if sms.id == match.group(1):
                        return _json(200, self._elks_item(sms))
            return _text(404, "Not found")
        return _text(404, "Not found")

    def _elks_item(self, sms: _Sms) -> dict[str, object]:
        item: dict[str, object] = {
            "id": sms.id, "direction": self._direction(sms), "from": sms.sender,
            "to": sms.to, "created": elks_time(sms.created), "message": sms.message,
            "cost": ELKS_COST_PER_PART * sms_segments(sms.message)}
        if sms.direction != "incoming":
            item["status"] = sms.status
            if sms.delivered is not None:
                item["delivered"] = sms.delivered.strftime(ELKS_DELIVERED_FORMAT)
        return item

    def _elks_history(self, query: dict[str, str]) -> _Answer:
        try:
            limit = min(100, int(query.get("limit") or 100))
            start = _parse_elks_time(query["start"]) if query.get("start") else None
            end = _parse_elks_time(query["end"]) if query.get("end") else None
        except ValueError:
            return _text(400, "Invalid limit, start or end")
        if limit < 1:
            return _text(400, "Invalid limit")
        to = query.get("to")
        with self._lock:
            selected = [
                sms for sms in self._messages
                if (to is None or sms.to == to)
                and (start is None or sms.created < start)
                and (end is None or sms.created > end)]
            selected.sort(key=lambda m: (m.created, m.seq), reverse=True)
            page = selected[:limit]
            data: dict[str, object] = {"data": [self._elks_item(sms) for sms in page]}
            if len(selected) > limit:
                data["next"] = elks_time(page[-1].created)
        return _json(200, data)

    def _elks_send(self, form: dict[str, str]) -> _Answer:
        for key in ("from", "to", "message"):
            if key not in form:
                return _text(400, f"Missing key {key}")
        sender, to, message = form["from"], form["to"], form["message"]
        if not E164.match(to):
            return _text(400, "Invalid to")
        if not (E164.match(sender) or ALPHANUMERIC_SENDER.match(sender)):
            return _text(400, "Invalid from")
        if not message:
            return _text(400, "Invalid message")
        callback = form.get("whendelivered") or None
        with self._lock:
            sms = self._store("outgoing", sender, to, message, None, status_url=callback)
            parts = sms_segments(message)
            answer = {"status": "created", "direction": "outgoing", "from": sender, "to": to,
                      "message": message, "created": elks_time(sms.created), "id": sms.id,
                      "parts": parts, "cost": ELKS_COST_PER_PART * parts}
            if callback is not None:
                self._pending += 1
        if callback is not None:
            self._spawn(self._deliver_report, sms, callback)
        return _json(200, answer)

    # Twilio

    def _twilio_base(self) -> str:
        return f"/{TWILIO_API_VERSION}/Accounts/{self.username}/Messages"

    def _handle_twilio(self, method: str, path: str, raw_query: str, query: dict[str, str],
                       form: dict[str, str]) -> _Answer:
        match = re.fullmatch(rf"/{TWILIO_API_VERSION}/Accounts/([^/]+)/Messages(/[^/]+)?\.json",
                             path)
        if match is None:
            return _json(404, {"code": 20404, "message": "The requested resource was not found",
                               "status": 404})
        if match.group(1) != self.username:
            return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if match.group(2):
            if method != "GET":
                return _json(405, {"code": 20004, "message": "Method not allowed",
                                   "status": 405})
            wanted = match.group(2)[1:]
            with self._lock:
                for sms in self._messages:
                    if sms.id == wanted:
                        return _json(200, self._twilio_resource(sms))
            return _json(404, {"code": 20404, "message": "The requested resource was not found",
                               "status": 404})
        if method == "POST":
            return self._twilio_send(form)
        return self._twilio_list(raw_query)

    def _twilio_resource(self, sms: _Sms) -> dict[str, object]:
        updated = sms.updated or sms.created
        return {
            "account_sid": self.username, "api_version": TWILIO_API_VERSION,
            "body": sms.message, "date_created": rfc2822(sms.created),
            "date_sent": rfc2822(sms.created), "date_updated": rfc2822(updated),
            "direction": self._direction(sms), "error_code": None, "error_message": None,
            "from": sms.sender, "messaging_service_sid": None, "num_media": "0",
            "num_segments": str(sms_segments(sms.message)), "price": None,
            "price_unit": "USD", "sid": sms.id, "status": sms.status, "to": sms.to,
            "uri": f"{self._twilio_base()}/{sms.id}.json",
            "subresource_uris": {"media": f"{self._twilio_base()}/{sms.id}/Media.json"},
        }

    def _twilio_send(self, form: dict[str, str]) -> _Answer:
        to, sender, message = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not E164.match(to):
            return _json(400, {"code": 21211, "message": f"The 'To' number {to} is not a valid "
                               "phone number.", "status": 400,
                               "more_info": "https://www.twilio.com/docs/errors/21211"})
        if not (E164.match(sender) or ALPHANUMERIC_SENDER.match(sender)):
            return _json(400, {"code": 21212, "message": f"The 'From' number {sender} is not "
                               "a valid phone number, shortcode, or alphanumeric sender ID.",
                               "status": 400})
        if not message:
            return _json(400, {"code": 21602, "message": "Message body is required.",
                               "status": 400})
        callback = form.get("StatusCallback") or None
        with self._lock:
            sms = self._store("outgoing", sender, to, message, None, status_url=callback)
            resource = self._twilio_resource(sms)
            if callback is not None:
                self._pending += 1
        if callback is not None:
            self._spawn(self._deliver_report, sms, callback)
        return _json(201, resource)

    def _twilio_list(self, raw_query: str) -> _Answer:
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        filters: list[tuple[str, str]] = []
        page_size, page = 50, 0
        after: datetime | None = None
        before: datetime | None = None
        to: str | None = None
        sender: str | None = None
        try:
            for key, value in pairs:
                if key == "PageSize":
                    page_size = min(1000, int(value))
                elif key == "Page":
                    page = int(value)
                elif key == "PageToken":
                    continue
                elif key in ("To", "From"):
                    filters.append((key, value))
                    to, sender = (value, sender) if key == "To" else (to, value)
                elif key in ("DateSent", "DateSent>", "DateSent<"):
                    filters.append((key, value))
                    after, before = _date_bounds(key, value.lstrip("="), after, before)
                else:
                    continue
        except ValueError:
            return _json(400, {"code": 20001, "message": "Invalid query parameter",
                               "status": 400})
        if page_size < 1 or page < 0:
            return _json(400, {"code": 20001, "message": "Invalid paging", "status": 400})
        with self._lock:
            selected = [
                sms for sms in self._messages
                if (to is None or sms.to == to) and (sender is None or sms.sender == sender)
                and (after is None or sms.created >= after)
                and (before is None or sms.created < before)]
            selected.sort(key=lambda m: (m.created, m.seq), reverse=True)
            first = page * page_size
            items = selected[first:first + page_size]
            messages = [self._twilio_resource(sms) for sms in items]
            more = len(selected) > first + page_size
            last_sid = items[-1].id if items else ""

        def uri(number: int, token: str | None = None) -> str:
            params = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
            if token is not None:
                params.append(("PageToken", token))
            return f"{self._twilio_base()}.json?{urlencode(params)}"

        return _json(200, {
            "messages": messages, "page": page, "page_size": page_size,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, "PA" + last_sid) if more else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "uri": uri(page), "start": first,
            "end": first + max(0, len(messages) - 1),
        })


def _date_bounds(key: str, value: str, after: datetime | None,
                 before: datetime | None) -> tuple[datetime | None, datetime | None]:
    """Apply one ``DateSent`` filter: (inclusive lower bound, exclusive upper bound)."""
    parsed = _parse_twilio_date(value)
    if isinstance(parsed, datetime):
        low, high = parsed, parsed + timedelta(seconds=1)
    else:
        low, high = _day_start(parsed), _day_start(parsed) + timedelta(days=1)
    if key in ("DateSent", "DateSent>"):
        after = low if after is None else max(after, low)
    if key in ("DateSent", "DateSent<"):
        before = high if before is None else min(before, high)
    return after, before


def _twiml_reply(body: str) -> str:
    """The text of the ``<Message>`` elements of a TwiML answer ('' when none)."""
    if not body.strip():
        return ""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return ""
    texts: Iterable[str] = (
        (element.findtext("Body") or element.text or "").strip()
        for element in root.iter("Message"))
    return "\n".join(text for text in texts if text)
