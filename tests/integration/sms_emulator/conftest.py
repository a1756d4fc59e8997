"""The SMS gateway emulators (tests/harness/sms/) behave as 46elks and Twilio
document them: one test file per emulator, as in the harness.

Each test pins one documented behaviour, through plain HTTP (httpx) and, for webhooks, a
small receiver server (``receiver.py``); no project code is involved. The fixtures: each
emulator on loopback, and the webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.sms.elks import ElksEmulator
from tests.harness.sms.twilio import TwilioEmulator
from tests.integration.sms_emulator.api import (
    ELKS_NUMBER,
    ELKS_PASSWORD,
    ELKS_USER,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
)
from tests.integration.sms_emulator.receiver import Receiver, serving


@pytest.fixture(scope="session", autouse=True)
def trained_model() -> None:
    """Overrides the integration conftest's fixture for these tests: the emulator's tests
    use no project code, so they need no classifier (and stay fast and independent)."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as rec:
        yield rec


@pytest.fixture
def elks() -> Iterator[ElksEmulator]:
    with ElksEmulator(username=ELKS_USER, password=ELKS_PASSWORD,
                      number=ELKS_NUMBER, webhook_retry_seconds=0.05) as gateway:
        yield gateway


@pytest.fixture
def twilio() -> Iterator[TwilioEmulator]:
    with TwilioEmulator(username=TWILIO_SID, password=TWILIO_TOKEN,
                        number=TWILIO_NUMBER, webhook_retry_seconds=0.05) as gateway:
        yield gateway
