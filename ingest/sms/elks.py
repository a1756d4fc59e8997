"""46elks (https://46elks.com/docs): Basic auth with the API username and
password; webhooks as form posts; history newest first, paged by ``next``."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime, timedelta

import httpx

from config.errors import OutcomeUnknownError
from ingest.sms.gateway import (
    BadWebhookError,
    DeliveryReport,
    Fetched,
    WebhookRefusedError,
    WebhookRequest,
)
from ingest.sms.http import ApiClient
from ingest.sms.record import SmsRecord

DEFAULT_API_URL = "https://api.46elks.com/a1"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
PAGE_LIMIT = 100  # the most the history gives at once
MAX_PAGES = 1000


def parse_time(text: str) -> datetime:
    """46elks writes UTC without a zone: ``2018-07-13T13:57:23.741000`` (and
    ``...Z`` for delivery times)."""
    value = datetime.fromisoformat(text.strip().removesuffix("Z"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def basic_auth_ok(headers: dict[str, str], username: str, password: str) -> bool:
    header = headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, _, secret = given.partition(":")
    # Both compared, always: no early exit that tells which one was wrong.
    same_user = hmac.compare_digest(user.encode(), username.encode())
    same_secret = hmac.compare_digest(secret.encode(), password.encode())
    return same_user and same_secret


class ElksGateway:
    name = "46elks"

    def __init__(self, username: str, password: str, number: str, *,
                 api_url: str = DEFAULT_API_URL, webhook_secret: str | None = None,
                 overlap: timedelta = timedelta(minutes=10),
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> None:
        self.number = number
        self.overlap = overlap
        self._webhook_auth = (username, webhook_secret or password)
        self.api = ApiClient(self.name, api_url, (username, password), transport, timeout)

    def fetch_since(self, cursor: str | None, now: datetime) -> Fetched:
        since = parse_time(cursor) if cursor else now - timedelta(hours=1)
        params = {"to": self.number, "limit": str(PAGE_LIMIT),
                  "end": format_time(since - self.overlap)}
        records: dict[str, SmsRecord] = {}
        pages = 0
        newest = since
        while pages < MAX_PAGES:
            doc = self.api.get(f"{self.api.base_url}/sms", params)
            pages += 1
            items = doc.get("data", []) if isinstance(doc, dict) else []
            for item in items:
                record = self._record(item)
                if record is not None:
                    records[record.id] = record
                    newest = max(newest, record.created)
            following = doc.get("next") if isinstance(doc, dict) else None
            if not following or not items:
                break
            params["start"] = str(following)  # older than the last one of this page
        return Fetched(tuple(sorted(records.values(), key=lambda r: r.created)),
                       format_time(newest), pages)

    def _record(self, item: object) -> SmsRecord | None:
        if not isinstance(item, dict) or item.get("direction") != "incoming":
            return None
        try:
            return SmsRecord(self.name, str(item["id"]), str(item["from"]), str(item["to"]),
                             str(item.get("message", "")), parse_time(str(item["created"])))
        except (KeyError, ValueError):
            return None

    def parse_webhook(self, request: WebhookRequest, now: datetime) -> SmsRecord:
        self._authenticate(request)
        if request.get("direction") not in (None, "incoming"):
            raise BadWebhookError("direction är inte incoming")
        fields = {k: request.get(k) for k in ("id", "from", "to", "message", "created")}
        missing = [k for k in ("id", "from", "to") if not fields[k]]
        if missing:
            raise BadWebhookError(f"fält saknas: {', '.join(missing)}")
        try:
            created = parse_time(fields["created"]) if fields["created"] else now
        except ValueError as exc:
            raise BadWebhookError("created är ingen tidpunkt") from exc
        return SmsRecord(self.name, str(fields["id"]), str(fields["from"]), str(fields["to"]),
                         fields["message"] or "", created)

    def parse_status(self, request: WebhookRequest) -> DeliveryReport:
        self._authenticate(request)
        gateway_id, status = request.get("id"), (request.get("status") or "").lower()
        if not gateway_id or status not in ("sent", "delivered", "failed"):
            raise BadWebhookError("leveransrapporten saknar id eller status")
        delivered = request.get("delivered")
        try:
            at = parse_time(delivered) if delivered else None
        except ValueError:
            at = None
        return DeliveryReport(gateway_id, status, at)

    def _authenticate(self, request: WebhookRequest) -> None:
        if not basic_auth_ok(request.headers, *self._webhook_auth):
            raise WebhookRefusedError("46elks: fel eller saknad inloggning (Basic)")

    def send(self, to: str, text: str, status_url: str | None = None) -> str:
        data = {"from": self.number, "to": to, "message": text}
        if status_url:
            data["whendelivered"] = status_url
        answer = self.api.post(f"{self.api.base_url}/sms", data)
        gateway_id = answer.get("id") if isinstance(answer, dict) else None
        if not gateway_id:
            raise OutcomeUnknownError("46elks svarade utan id; oklart om sms:et skickades")
        return str(gateway_id)

    def find_sent(self, to: str, text: str, since: datetime) -> str | None:
        params = {"to": to, "limit": str(PAGE_LIMIT),
                  "end": format_time(since - timedelta(minutes=1))}
        for _ in range(MAX_PAGES):
            doc = self.api.get(f"{self.api.base_url}/sms", params)
            items = doc.get("data", []) if isinstance(doc, dict) else []
            for item in items:
                if (isinstance(item, dict) and str(item.get("direction", "")).startswith("outgoing")
                        and item.get("from") == self.number and item.get("message") == text):
                    return str(item["id"])
            following = doc.get("next") if isinstance(doc, dict) else None
            if not following or not items:
                return None
            params["start"] = str(following)
        return None
