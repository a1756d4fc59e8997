"""The one small interface every SMS gateway adapter offers, and the values
that cross it. Adapters translate the provider's HTTP into these values and
the project's exceptions; nothing above them knows which provider is used."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from config.errors import PermanentError
from ingest.sms.record import SmsRecord


class WebhookRefusedError(PermanentError):
    """The webhook request is not from the gateway (auth or signature wrong): 401."""


class BadWebhookError(PermanentError):
    """The webhook request is from the gateway but cannot be read: 400."""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An HTTP request as the web layer received it, reduced to what a
    gateway's check needs; ``url`` is the URL the gateway called."""

    url: str
    headers: dict[str, str]  # lower-case names
    form: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.form if k == name), None)


@dataclass(frozen=True, slots=True)
class Fetched:
    records: tuple[SmsRecord, ...]  # incoming SMS to the kommun's number
    cursor: str | None  # where the next fetch starts (it overlaps a little)
    pages: int = 1


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    gateway_id: str
    status: str  # "sent" | "delivered" | "failed" (the provider's word, lower case)
    at: datetime | None = None
    detail: dict[str, str] = field(default_factory=dict)


class Gateway(Protocol):
    @property
    def name(self) -> str: ...

    def fetch_since(self, cursor: str | None, now: datetime) -> Fetched:
        """Every incoming SMS from a little before ``cursor`` (or the last
        hour when there is none), following the provider's pages."""
        ...

    def parse_webhook(self, request: WebhookRequest, now: datetime) -> SmsRecord:
        """An incoming SMS from an authenticated webhook request."""
        ...

    def parse_status(self, request: WebhookRequest) -> DeliveryReport:
        """A delivery report for an SMS we sent."""
        ...

    def send(self, to: str, text: str, status_url: str | None = None) -> str:
        """Send one SMS from the kommun's number; returns the gateway's id."""
        ...

    def find_sent(self, to: str, text: str, since: datetime) -> str | None:
        """The id of an SMS with ``text`` sent from the kommun's number to
        ``to`` since ``since``, or None: settles an attempt whose answer was lost."""
        ...
