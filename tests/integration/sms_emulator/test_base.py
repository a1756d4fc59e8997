"""What every emulator offers the tests, whichever provider it plays: API
errors and slow answers on demand (``tests/harness/sms/base.py``), shown on
the 46elks emulator."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.harness.sms.elks import ElksEmulator
from tests.integration.sms_emulator.api import CITIZEN, elks_client


def test_fail_next_answers_errors_then_recovers(elks: ElksEmulator) -> None:
    with elks_client(elks) as client:
        elks.fail_next(2)
        first = client.get("/sms")
        second = client.post("/sms", data={"from": "Ekby", "to": CITIZEN, "message": "x"})
        third = client.get("/sms")
        elks.fail_next(1, status=503)
        fourth = client.get("/sms")
    assert (first.status_code, second.status_code) == (500, 500)
    assert first.text
    assert third.status_code == 200
    assert fourth.status_code == 503
    assert elks.outgoing() == []
    assert elks.requests == [("GET", "/a1/sms"), ("POST", "/a1/sms"), ("GET", "/a1/sms"),
                             ("GET", "/a1/sms")]


def test_slow_seconds_delays_every_answer(elks: ElksEmulator) -> None:
    elks.slow_seconds = 0.3
    with elks_client(elks) as client:
        started = time.monotonic()
        response = client.get("/sms", params={"limit": 5})
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            client.get("/sms", timeout=0.1)
    assert 0.3 <= elapsed < 3.0
    assert elks.requests[0] == ("GET", "/a1/sms?limit=5")
