"""Local stand-ins for the SMS gateways, for tests without the internet: one
emulator per provider, as the application's ``ingest/sms/`` has one adapter per
provider (``base.py``: what they share; ``elks.py``: 46elks; ``twilio.py``: Twilio).

    with emulator_for("46elks", username="u", password="p", number="+46766860000",
                      webhook_url="http://127.0.0.1:8000/sms") as gw:
        sms_id = gw.incoming("+46701234567", "Gatlampan är trasig")
        gw.wait_for_webhooks()
        adapter = SomeAdapter(api_url=gw.api_url, ...)

``ElksEmulator(...)`` and ``TwilioEmulator(...)`` take the same arguments.
"""

from __future__ import annotations

from typing import Any

from tests.harness.sms.base import GatewayEmulator
from tests.harness.sms.elks import ElksEmulator
from tests.harness.sms.twilio import TwilioEmulator

EMULATORS: dict[str, type[GatewayEmulator]] = {"46elks": ElksEmulator, "twilio": TwilioEmulator}


def emulator_for(provider: str, *, username: str, password: str, number: str,
                 **options: Any) -> GatewayEmulator:
    """The emulator of ``provider`` as the application's ``sms_provider`` names it
    ("46elks" or "twilio"); ``options``: ``webhook_url``, ``webhook_retry_seconds``,
    ``webhook_attempts``."""
    emulator = EMULATORS.get(provider)
    if emulator is None:
        raise ValueError(f"unknown provider {provider!r}")
    return emulator(username=username, password=password, number=number, **options)
