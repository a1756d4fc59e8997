"""The accounts the emulators' tests use, and plain HTTP clients of their APIs."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.harness.sms.elks import ElksEmulator
from tests.harness.sms.twilio import TwilioEmulator

ELKS_USER = "u0123456789abcdef0123456789abcdef"
ELKS_PASSWORD = "B1A2C3D4E5F6A7B8C9D0E1F2A3B4C5D6"
ELKS_NUMBER = "+46766861069"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
TWILIO_NUMBER = "+46700000123"
CITIZEN = "+46704508449"
OTHER = "+46701112233"
TIMEOUT = 5.0


def elks_client(gateway: ElksEmulator) -> httpx.Client:
    return httpx.Client(base_url=gateway.api_url, auth=(ELKS_USER, ELKS_PASSWORD),
                        timeout=TIMEOUT)


def twilio_client(gateway: TwilioEmulator) -> httpx.Client:
    return httpx.Client(base_url=gateway.api_url.removesuffix("/2010-04-01"),
                        auth=(TWILIO_SID, TWILIO_TOKEN), timeout=TIMEOUT)


def messages_path() -> str:
    return f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def elks_history(client: httpx.Client, **params: str | int) -> dict[str, Any]:
    response = client.get("/sms", params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data
