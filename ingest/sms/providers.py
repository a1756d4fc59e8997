"""Which gateway the settings name, built once per process."""

from __future__ import annotations

from datetime import timedelta

import httpx

from config.errors import ConfigError
from config.settings import Settings
from ingest.sms import elks, twilio
from ingest.sms.gateway import Gateway
from ingest.sms.phone import e164


def make_gateway(settings: Settings, kommun_number: str,
                 transport: httpx.BaseTransport | None = None) -> Gateway | None:
    """The configured gateway, or None when SYNPUNKT_SMS_PROVIDER is not set.
    Raises ConfigError (one line) when a setting it needs is missing."""
    provider = settings.sms_provider
    if provider is None:
        return None
    for name in ("sms_username", "sms_password"):
        if not getattr(settings, name):
            raise ConfigError("miljön", None, f"SYNPUNKT_{name.upper()} saknas men "
                              f"SYNPUNKT_SMS_PROVIDER={provider} är satt")
    raw_number = settings.sms_number or kommun_number
    number = e164(raw_number)
    if number is None:
        raise ConfigError("miljön", None, f"SYNPUNKT_SMS_NUMBER {raw_number!r} är inget "
                          "telefonnummer")
    username, password = str(settings.sms_username), str(settings.sms_password)
    overlap = timedelta(seconds=settings.sms_poll_overlap_seconds)
    if provider == "46elks":
        return elks.ElksGateway(username, password, number,
                                api_url=settings.sms_api_url or elks.DEFAULT_API_URL,
                                webhook_secret=settings.sms_webhook_secret, overlap=overlap,
                                transport=transport)
    return twilio.TwilioGateway(username, password, number,
                                api_url=settings.sms_api_url or twilio.DEFAULT_API_URL,
                                overlap=overlap, transport=transport)
