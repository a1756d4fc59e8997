"""The 46elks emulator behaves as 46elks documents it (https://46elks.com/docs)."""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.harness.sms.elks import ElksEmulator
from tests.integration.sms_emulator.api import (
    CITIZEN,
    ELKS_NUMBER,
    ELKS_USER,
    OTHER,
    TIMEOUT,
    basic,
    elks_client,
    elks_history,
)
from tests.integration.sms_emulator.receiver import Receiver

ELKS_CREATED = "%Y-%m-%dT%H:%M:%S.%f"


def test_elks_api_requires_basic_auth(elks: ElksEmulator) -> None:
    anonymous = httpx.get(f"{elks.api_url}/sms", timeout=TIMEOUT)
    wrong = httpx.get(f"{elks.api_url}/sms", auth=(ELKS_USER, "wrong"), timeout=TIMEOUT)
    for response in (anonymous, wrong):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text
    with elks_client(elks) as client:
        assert client.get("/sms").status_code == 200


def test_elks_incoming_webhook_has_the_six_documented_fields(
        elks: ElksEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url("/sms/in?k=1", userinfo="hook:s%40cret")
    before = datetime.now(UTC).replace(tzinfo=None)
    sms_id = elks.incoming(CITIZEN, "Gatlampan på Storgatan är trasig ✓")
    elks.wait_for_webhooks(TIMEOUT)
    [hook] = receiver.wait_for(1)
    assert re.fullmatch(r"s[0-9a-f]{32}", sms_id)
    assert hook.path == "/sms/in?k=1"
    assert hook.headers["content-type"] == "application/x-www-form-urlencoded"
    assert hook.headers["authorization"] == basic("hook", "s@cret")
    assert [name for name, _ in hook.fields] == [
        "direction", "id", "from", "to", "message", "created"]
    form = hook.form
    assert form["direction"] == "incoming"
    assert form["id"] == sms_id
    assert form["from"] == CITIZEN
    assert form["to"] == ELKS_NUMBER
    assert form["message"] == "Gatlampan på Storgatan är trasig ✓"
    created = datetime.strptime(form["created"], ELKS_CREATED)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", form["created"])
    assert before - timedelta(seconds=1) <= created <= before + timedelta(seconds=5)
    assert elks.webhook_attempts_made(sms_id) == [200]


def test_elks_webhook_is_retried_until_the_receiver_answers_2xx(
        elks: ElksEmulator, receiver: Receiver) -> None:
    receiver.answers = [(500, "boom"), (500, "boom"), (204, "")]
    elks.webhook_url = receiver.url()
    sms_id = elks.incoming(CITIZEN, "Hej")
    elks.wait_for_webhooks(TIMEOUT)
    hooks = receiver.wait_for(3)
    assert len(hooks) == 3
    assert {hook.form["id"] for hook in hooks} == {sms_id}
    assert elks.webhook_attempts_made(sms_id) == [500, 500, 204]
    # 205 and up are not success for 46elks: the attempts go on until the limit.
    receiver.answers = [(205, "")] * 5
    other = elks.incoming(CITIZEN, "Igen")
    elks.wait_for_webhooks(TIMEOUT)
    assert elks.webhook_attempts_made(other) == [205] * 5


def test_elks_webhook_connection_errors_are_recorded_as_zero(elks: ElksEmulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    elks.webhook_attempts = 3
    elks.webhook_url = f"http://127.0.0.1:{closed_port}/hook"
    sms_id = elks.incoming(CITIZEN, "Ingen lyssnar")
    elks.wait_for_webhooks(TIMEOUT)
    assert elks.webhook_attempts_made(sms_id) == [0, 0, 0]


def test_elks_non_empty_answer_is_sent_as_a_reply_sms(
        elks: ElksEmulator, receiver: Receiver) -> None:
    receiver.answers = [(500, "not this"), (200, "Tack! Vi har tagit emot din synpunkt.")]
    elks.webhook_url = receiver.url()
    sms_id = elks.incoming(CITIZEN, "Hål i vägen")
    elks.wait_for_webhooks(TIMEOUT)
    with elks_client(elks) as client:
        data = elks_history(client)["data"]
    assert [item["direction"] for item in data] == ["outgoing-reply", "incoming"]
    reply, incoming = data
    assert incoming["id"] == sms_id
    assert reply["from"] == ELKS_NUMBER
    assert reply["to"] == CITIZEN
    assert reply["message"] == "Tack! Vi har tagit emot din synpunkt."
    assert "status" in reply
    assert "status" not in incoming
    assert elks.outgoing() == []  # a reply is not an API send


def test_elks_empty_answer_sends_no_reply(elks: ElksEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url()
    elks.incoming(CITIZEN, "Hej")
    elks.wait_for_webhooks(TIMEOUT)
    with elks_client(elks) as client:
        assert [item["direction"] for item in elks_history(client)["data"]] == ["incoming"]


def test_elks_history_is_newest_first_and_filters_on_recipient(elks: ElksEmulator) -> None:
    first = elks.incoming(CITIZEN, "ett")
    second = elks.incoming(OTHER, "två")
    with elks_client(elks) as client:
        sent = client.post("/sms", data={"from": "Ekby", "to": CITIZEN, "message": "tre"})
        assert sent.status_code == 200
        data = elks_history(client)
        assert "next" not in data
        assert [item["id"] for item in data["data"]] == [sent.json()["id"], second, first]
        created = [item["created"] for item in data["data"]]
        assert created == sorted(created, reverse=True)
        for item in data["data"]:
            assert {"id", "direction", "from", "to", "created", "message"} <= item.keys()
            datetime.strptime(item["created"], ELKS_CREATED)
        assert data["data"][0]["status"] == "created"
        to_number = elks_history(client, to=ELKS_NUMBER)["data"]
        assert [item["id"] for item in to_number] == [second, first]
        to_citizen = elks_history(client, to=CITIZEN)["data"]
        assert [item["message"] for item in to_citizen] == ["tre"]


def test_elks_history_limit_is_clamped_and_next_pages_cover_everything(
        elks: ElksEmulator) -> None:
    ids = [elks.incoming(CITIZEN, f"nr {n}") for n in range(150)]
    with elks_client(elks) as client:
        clamped = elks_history(client, limit=1000)
        assert len(clamped["data"]) == 100
        assert clamped["next"] == clamped["data"][-1]["created"]
        assert len(elks_history(client)["data"]) == 100  # the default page

        seen: list[str] = []
        params: dict[str, str | int] = {"limit": 40}
        pages = 0
        while True:
            page = elks_history(client, **params)
            pages += 1
            seen.extend(item["id"] for item in page["data"])
            if "next" not in page:
                break
            assert page["next"] == page["data"][-1]["created"]
            params = {"limit": 40, "start": page["next"]}
            assert pages < 10
    assert pages == 4
    assert seen == list(reversed(ids))


def test_elks_history_start_and_end_are_exclusive(elks: ElksEmulator) -> None:
    base = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    ids = [elks.incoming(CITIZEN, f"nr {n}", deliver=False, created=base + timedelta(hours=n))
           for n in range(5)]
    middle = (base + timedelta(hours=2)).strftime(ELKS_CREATED)
    with elks_client(elks) as client:
        newer = elks_history(client, end=middle)["data"]
        assert [item["id"] for item in newer] == [ids[4], ids[3]]
        older = elks_history(client, start=middle)["data"]
        assert [item["id"] for item in older] == [ids[1], ids[0]]
        window = elks_history(client, start=(base + timedelta(hours=4)).strftime(ELKS_CREATED),
                              end=base.strftime(ELKS_CREATED))["data"]
        assert [item["id"] for item in window] == [ids[3], ids[2], ids[1]]
        assert window[0]["created"] == "2026-11-23T11:00:00.000000"


def test_elks_send_validates_and_answers_the_documented_fields(elks: ElksEmulator) -> None:
    with elks_client(elks) as client:
        bad = [
            ({"from": "Ekby", "to": "0704508449", "message": "x"}, "Invalid to"),
            ({"from": "Ekby", "to": "+4670", "message": "x"}, "Invalid to"),
            ({"from": "1Ekby", "to": CITIZEN, "message": "x"}, None),
            ({"from": "EkbyKommun12", "to": CITIZEN, "message": "x"}, None),
            ({"from": "Ek", "to": CITIZEN, "message": "x"}, None),
            ({"from": "Ekby", "to": CITIZEN, "message": ""}, None),
            ({"from": "Ekby", "to": CITIZEN}, None),
        ]
        for form, text in bad:
            response = client.post("/sms", data=form)
            assert response.status_code == 400, form
            assert response.text, form
            if text is not None:
                assert response.text == text
        assert elks.outgoing() == []

        cases = [("EkbyKommun", "Hej!", 1), (ELKS_NUMBER, "a" * 160, 1),
                 (ELKS_NUMBER, "a" * 161, 2), ("Ekby", "€" * 80, 1), ("Ekby", "€" * 81, 2),
                 ("Ekby", "Å ä ö é ü", 1), ("Ekby", "ş" * 70, 1), ("Ekby", "ş" * 71, 2),
                 ("Ekby", "✓" * 135, 3)]
        for sender, message, parts in cases:
            response = client.post("/sms", data={"from": sender, "to": CITIZEN,
                                                 "message": message})
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["status"] == "created"
            assert body["direction"] == "outgoing"
            assert body["from"] == sender
            assert body["to"] == CITIZEN
            assert body["message"] == message
            assert re.fullmatch(r"s[0-9a-f]{32}", body["id"])
            datetime.strptime(body["created"], ELKS_CREATED)
            assert body["parts"] == parts, message
            assert body["cost"] == 3500 * parts
    outgoing = elks.outgoing()
    assert [item["message"] for item in outgoing] == [message for _, message, _ in cases]
    assert set(outgoing[0]) == {"id", "from", "to", "message"}


def test_elks_whendelivered_gets_the_delivery_report(
        elks: ElksEmulator, receiver: Receiver) -> None:
    callback = receiver.url("/dlr", userinfo="dlr:pw")
    with elks_client(elks) as client:
        sent = client.post("/sms", data={"from": "Ekby", "to": CITIZEN, "message": "Hej",
                                         "whendelivered": callback}).json()
        elks.wait_for_webhooks(TIMEOUT)
        [report] = receiver.wait_for(1)
        item = client.get(f"/sms/{sent['id']}").json()
    assert report.path == "/dlr"
    assert report.headers["authorization"] == basic("dlr", "pw")
    assert report.form.keys() == {"id", "status", "delivered"}
    assert report.form["id"] == sent["id"]
    assert report.form["status"] == "delivered"
    delivered = datetime.strptime(report.form["delivered"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(delivered - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=10)
    assert item["status"] == "delivered"
    assert item["delivered"] == report.form["delivered"]
    assert elks.outgoing()[0]["status_url"] == callback


def test_elks_duplicate_delivers_the_same_sms_twice(
        elks: ElksEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url()
    sms_id = elks.incoming(CITIZEN, "Dubbel", duplicate=True)
    elks.wait_for_webhooks(TIMEOUT)
    hooks = receiver.wait_for(2)
    assert len(hooks) == 2
    assert hooks[0].body == hooks[1].body
    assert hooks[0].form["id"] == sms_id
    assert elks.webhook_attempts_made(sms_id) == [200, 200]


def test_elks_undelivered_sms_is_only_in_the_history(
        elks: ElksEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url()
    sms_id = elks.incoming(CITIZEN, "Förlorad", deliver=False)
    elks.wait_for_webhooks(TIMEOUT)
    time.sleep(0.2)
    assert receiver.received == []
    assert elks.webhook_attempts_made(sms_id) == []
    with elks_client(elks) as client:
        [item] = elks_history(client)["data"]
    assert item["id"] == sms_id
    assert item["direction"] == "incoming"
    assert item["message"] == "Förlorad"


def test_elks_delay_lets_a_later_sms_arrive_first(
        elks: ElksEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url()
    early = elks.incoming(CITIZEN, "först skriven", delay=0.3)
    late = elks.incoming(CITIZEN, "sist skriven")
    with pytest.raises(TimeoutError):
        elks.wait_for_webhooks(0.01)
    elks.wait_for_webhooks(TIMEOUT)
    hooks = receiver.wait_for(2)
    assert [hook.form["id"] for hook in hooks] == [late, early]
    assert hooks[1].form["created"] < hooks[0].form["created"]
