"""Twilio (https://www.twilio.com/docs/messaging): Basic auth with the Account
SID and auth token; webhooks signed with X-Twilio-Signature; the Messages
list filtered by To and DateSent, paged by ``next_page_uri``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

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

DEFAULT_API_URL = "https://api.twilio.com/2010-04-01"
API_VERSION = "/2010-04-01"
PAGE_SIZE = 200
MAX_PAGES = 1000
_STATUSES = {"sent": "sent", "delivered": "delivered", "failed": "failed",
             "undelivered": "failed", "queued": "sent", "sending": "sent"}


def signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's request signature: HMAC-SHA1 keyed by the auth token over the
    URL followed by every POST parameter's name and value, sorted by name."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port:
    Twilio's own validators accept a signature over any of them."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if parts.port is not None:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    elif default is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    return variants


def parse_date(text: str) -> datetime:
    value = parsedate_to_datetime(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TwilioGateway:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, number: str, *,
                 api_url: str = DEFAULT_API_URL, overlap: timedelta = timedelta(minutes=10),
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> None:
        self.account_sid = account_sid
        self.number = number
        self.overlap = overlap
        self._token = auth_token
        self.api = ApiClient(self.name, api_url, (account_sid, auth_token), transport,
                             timeout)
        base = self.api.base_url
        self._root = base[: -len(API_VERSION)] if base.endswith(API_VERSION) else base
        self._messages = f"{base}/Accounts/{account_sid}/Messages.json"

    def fetch_since(self, cursor: str | None, now: datetime) -> Fetched:
        since = datetime.fromisoformat(cursor) if cursor else now - timedelta(hours=1)
        # DateSent filters whole days (UTC): the overlap may reach into yesterday.
        day = (since - self.overlap).astimezone(UTC).date()
        url: str | None = self._messages
        params: dict[str, str] | None = {"To": self.number, "DateSent>": day.isoformat(),
                                         "PageSize": str(PAGE_SIZE)}
        records: dict[str, SmsRecord] = {}
        newest = since
        pages = 0
        while url is not None and pages < MAX_PAGES:
            doc = self.api.get(url, params)
            pages += 1
            for item in doc.get("messages", []) if isinstance(doc, dict) else []:
                record = self._record(item)
                if record is not None:
                    records[record.id] = record
                    newest = max(newest, record.created)
            following = doc.get("next_page_uri") if isinstance(doc, dict) else None
            url, params = (self._root + following, None) if following else (None, None)
        return Fetched(tuple(sorted(records.values(), key=lambda r: r.created)),
                       newest.isoformat(), pages)

    def _record(self, item: object) -> SmsRecord | None:
        if not isinstance(item, dict) or item.get("direction") != "inbound":
            return None
        try:
            when = item.get("date_sent") or item["date_created"]
            return SmsRecord(self.name, str(item["sid"]), str(item["from"]), str(item["to"]),
                             str(item.get("body") or ""), parse_date(str(when)))
        except (KeyError, TypeError, ValueError):
            return None

    def parse_webhook(self, request: WebhookRequest, now: datetime) -> SmsRecord:
        self._authenticate(request)
        sid = request.get("MessageSid") or request.get("SmsMessageSid")
        sender, to = request.get("From"), request.get("To")
        if not sid or not sender or not to:
            raise BadWebhookError("MessageSid, From eller To saknas")
        # Twilio's webhook carries no time: the time it reached us stands in.
        return SmsRecord(self.name, sid, sender, to, request.get("Body") or "", now)

    def parse_status(self, request: WebhookRequest) -> DeliveryReport:
        self._authenticate(request)
        sid = request.get("MessageSid") or request.get("SmsSid")
        status = _STATUSES.get((request.get("MessageStatus") or "").lower())
        if not sid or status is None:
            raise BadWebhookError("statusrapporten saknar MessageSid eller känd status")
        code = request.get("ErrorCode")
        return DeliveryReport(sid, status, None, {"error_code": code} if code else {})

    def _authenticate(self, request: WebhookRequest) -> None:
        given = request.headers.get("x-twilio-signature", "")
        ok = any(hmac.compare_digest(signature(self._token, url, request.form).encode(),
                                     given.encode())
                 for url in url_variants(request.url))
        if not given or not ok:
            raise WebhookRefusedError("twilio: X-Twilio-Signature saknas eller stämmer inte")

    def send(self, to: str, text: str, status_url: str | None = None) -> str:
        data = {"To": to, "From": self.number, "Body": text}
        if status_url:
            data["StatusCallback"] = status_url
        answer = self.api.post(self._messages, data)
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not sid:
            raise OutcomeUnknownError("twilio svarade utan sid; oklart om sms:et skickades")
        return str(sid)

    def find_sent(self, to: str, text: str, since: datetime) -> str | None:
        day = (since - timedelta(minutes=1)).astimezone(UTC).date()
        url: str | None = self._messages
        params: dict[str, str] | None = {"To": to, "From": self.number,
                                         "DateSent>": day.isoformat(), "PageSize": str(PAGE_SIZE)}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            doc = self.api.get(url, params)
            for item in doc.get("messages", []) if isinstance(doc, dict) else []:
                if (isinstance(item, dict) and str(item.get("direction", "")).startswith("outbound")
                        and item.get("body") == text):
                    return str(item["sid"])
            following = doc.get("next_page_uri") if isinstance(doc, dict) else None
            url, params = (self._root + following, None) if following else (None, None)
        return None
