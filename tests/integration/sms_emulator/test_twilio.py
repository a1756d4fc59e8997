"""The Twilio emulator behaves as Twilio documents it (the Message resource,
webhook security)."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.harness.sms.twilio import TwilioEmulator, twilio_signature
from tests.integration.sms_emulator.api import (
    CITIZEN,
    OTHER,
    TIMEOUT,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    basic,
    messages_path,
    twilio_client,
)
from tests.integration.sms_emulator.receiver import Receiver

RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


def test_twilio_signature_reproduces_the_documented_example() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    # The same algorithm, written out independently.
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(b"12345", payload.encode(), hashlib.sha1).digest()
    assert base64.b64encode(digest).decode() == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilio_incoming_webhook_is_signed(twilio: TwilioEmulator, receiver: Receiver) -> None:
    twilio.webhook_url = receiver.url("/twilio/sms?kommun=ekby")
    sms_id = twilio.incoming(CITIZEN, "Snön är inte plogad")
    twilio.wait_for_webhooks(TIMEOUT)
    [hook] = receiver.wait_for(1)
    assert re.fullmatch(r"SM[0-9a-f]{32}", sms_id)
    assert hook.headers["content-type"] == "application/x-www-form-urlencoded"
    form = hook.form
    assert form == {
        "MessageSid": sms_id, "SmsSid": sms_id, "SmsMessageSid": sms_id,
        "AccountSid": TWILIO_SID, "From": CITIZEN, "To": TWILIO_NUMBER,
        "Body": "Snön är inte plogad", "NumMedia": "0", "NumSegments": "1",
        "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    url = receiver.base + hook.path
    assert hook.headers["x-twilio-signature"] == twilio_signature(TWILIO_TOKEN, url, form)
    assert hook.headers["x-twilio-signature"] != twilio_signature("other", url, form)


def test_twilio_webhook_userinfo_becomes_basic_auth(
        twilio: TwilioEmulator, receiver: Receiver) -> None:
    twilio.webhook_url = receiver.url("/in", userinfo="tw:pw")
    twilio.incoming(CITIZEN, "Hej")
    twilio.wait_for_webhooks(TIMEOUT)
    [hook] = receiver.wait_for(1)
    assert hook.headers["authorization"] == basic("tw", "pw")
    assert hook.headers["x-twilio-signature"] == twilio_signature(
        TWILIO_TOKEN, receiver.base + "/in", hook.form)


def test_twilio_tries_a_failed_webhook_only_once(
        twilio: TwilioEmulator, receiver: Receiver) -> None:
    receiver.answers = [(500, "")]
    twilio.webhook_url = receiver.url()
    sms_id = twilio.incoming(CITIZEN, "Missad")
    twilio.wait_for_webhooks(TIMEOUT)
    time.sleep(0.2)
    assert len(receiver.received) == 1
    assert twilio.webhook_attempts_made(sms_id) == [500]
    with twilio_client(twilio) as client:
        [message] = client.get(messages_path()).json()["messages"]
    assert message["sid"] == sms_id
    assert message["direction"] == "inbound"
    assert message["status"] == "received"


def test_twilio_twiml_answer_becomes_a_reply(
        twilio: TwilioEmulator, receiver: Receiver) -> None:
    receiver.answers = [(200, "<?xml version='1.0'?><Response><Message>Tack!</Message>"
                              "</Response>")]
    twilio.webhook_url = receiver.url()
    twilio.incoming(CITIZEN, "Hej")
    twilio.wait_for_webhooks(TIMEOUT)
    with twilio_client(twilio) as client:
        messages = client.get(messages_path()).json()["messages"]
    assert [(m["direction"], m["body"]) for m in messages] == [
        ("outbound-reply", "Tack!"), ("inbound", "Hej")]


def test_twilio_api_requires_the_account_credentials(twilio: TwilioEmulator) -> None:
    url = twilio.api_url + f"/Accounts/{TWILIO_SID}/Messages.json"
    for auth in (None, (TWILIO_SID, "wrong")):
        response = httpx.get(url, auth=auth, timeout=TIMEOUT)
        assert response.status_code == 401
        assert response.json()["code"] == 20003
        assert response.json()["status"] == 401
    other_account = "AC" + "f" * 32
    response = httpx.get(twilio.api_url + f"/Accounts/{other_account}/Messages.json",
                         auth=(TWILIO_SID, TWILIO_TOKEN), timeout=TIMEOUT)
    assert response.status_code in (401, 404)
    assert httpx.get(url, auth=(TWILIO_SID, TWILIO_TOKEN), timeout=TIMEOUT).status_code == 200


def test_twilio_send_answers_201_with_the_message_resource(twilio: TwilioEmulator) -> None:
    with twilio_client(twilio) as client:
        bad = client.post(messages_path(), data={"To": "0704508449", "From": TWILIO_NUMBER,
                                                 "Body": "x"})
        assert bad.status_code == 400
        assert bad.json()["code"] == 21211
        assert bad.json()["status"] == 400
        response = client.post(messages_path(), data={
            "To": CITIZEN, "From": TWILIO_NUMBER, "Body": "Ärendet är registrerat."})
        fetched = client.get(f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/"
                             f"{response.json()['sid']}.json")
    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["account_sid"] == TWILIO_SID
    assert message["from"] == TWILIO_NUMBER
    assert message["to"] == CITIZEN
    assert message["body"] == "Ärendet är registrerat."
    assert message["direction"] == "outbound-api"
    assert message["status"] == "queued"
    assert message["num_segments"] == "1"
    assert message["api_version"] == "2010-04-01"
    assert message["uri"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{message['sid']}.json"
    for key in ("date_created", "date_sent", "date_updated"):
        assert RFC2822.match(message[key]), message[key]
    created = email.utils.parsedate_to_datetime(message["date_created"])
    assert abs(created - datetime.now(UTC)) < timedelta(seconds=10)
    assert fetched.status_code == 200
    assert fetched.json() == message
    assert twilio.outgoing() == [{"id": message["sid"], "from": TWILIO_NUMBER, "to": CITIZEN,
                                  "message": "Ärendet är registrerat."}]


def test_twilio_status_callback_is_signed(twilio: TwilioEmulator, receiver: Receiver) -> None:
    callback = receiver.url("/status")
    with twilio_client(twilio) as client:
        sent = client.post(messages_path(), data={
            "To": CITIZEN, "From": TWILIO_NUMBER, "Body": "Hej", "StatusCallback": callback})
        twilio.wait_for_webhooks(TIMEOUT)
        [report] = receiver.wait_for(1)
        fetched = client.get(sent.json()["uri"]).json()
    sid = sent.json()["sid"]
    assert report.form == {"MessageSid": sid, "MessageStatus": "delivered",
                           "AccountSid": TWILIO_SID, "From": TWILIO_NUMBER, "To": CITIZEN,
                           "SmsSid": sid, "SmsStatus": "delivered"}
    assert report.headers["x-twilio-signature"] == twilio_signature(
        TWILIO_TOKEN, callback, report.form)
    assert fetched["status"] == "delivered"
    assert twilio.webhook_attempts_made(sid) == [200]


def test_twilio_list_pages_through_next_page_uri(twilio: TwilioEmulator) -> None:
    ids = [twilio.incoming(CITIZEN, f"nr {n}") for n in range(25)]
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    with twilio_client(twilio) as client:
        default = client.get(messages_path()).json()
        assert default["page_size"] == 50
        assert len(default["messages"]) == 25
        assert default["next_page_uri"] is None
        next_uri: str | None = messages_path() + "?PageSize=10"
        while next_uri is not None:
            assert next_uri.startswith("/2010-04-01/")
            assert len(pages) < 5
            page = client.get(next_uri).json()
            pages.append(page)
            seen.extend(message["sid"] for message in page["messages"])
            next_uri = page["next_page_uri"]
    assert seen == list(reversed(ids))
    assert [page["page"] for page in pages] == [0, 1, 2]
    assert [len(page["messages"]) for page in pages] == [10, 10, 5]
    assert [(page["start"], page["end"]) for page in pages] == [(0, 9), (10, 19), (20, 24)]
    assert "PageToken=" in pages[0]["next_page_uri"]
    assert "PageSize=10" in pages[0]["next_page_uri"]
    assert pages[0]["previous_page_uri"] is None
    assert pages[1]["previous_page_uri"] is not None


def test_twilio_list_filters_on_date_sent(twilio: TwilioEmulator) -> None:
    days = [datetime(2026, 11, day, 12, 30, tzinfo=UTC) for day in (21, 22, 23, 24)]
    ids = [twilio.incoming(CITIZEN, f"dag {when.day}", deliver=False, created=when)
           for when in days]
    twilio.incoming(OTHER, "annan", deliver=False, created=days[3])
    with twilio_client(twilio) as client:
        def sids(url: str, **params: str) -> list[str]:
            # httpx drops a URL's own query string when given params={}.
            response = client.get(url, params=params or None)
            assert response.status_code == 200, response.text
            return [message["sid"] for message in response.json()["messages"]]

        encoded = sids(messages_path() + "?DateSent%3E=2026-11-23&From=" + "%2B46704508449")
        assert encoded == [ids[3], ids[2]]
        assert sids(messages_path(), **{"DateSent>": "2026-11-23", "From": CITIZEN}) == encoded
        assert sids(messages_path(), DateSent="2026-11-22") == [ids[1]]
        assert sids(messages_path(), **{"DateSent<": "2026-11-22", "From": CITIZEN}) == [
            ids[1], ids[0]]
        assert sids(messages_path(), **{"DateSent>": "2026-11-23T12:30:01Z",
                                        "From": CITIZEN}) == [ids[3]]
        paged = client.get(messages_path(), params={"DateSent>": "2026-11-21",
                                                    "PageSize": "2"}).json()
        assert "DateSent%3E=2026-11-21" in paged["next_page_uri"]
        assert len(client.get(paged["next_page_uri"]).json()["messages"]) == 2
