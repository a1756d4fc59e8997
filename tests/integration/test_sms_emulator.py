"""The SMS gateway emulator behaves as 46elks and Twilio document it.

Each test pins one documented behaviour, through plain HTTP (httpx) and, for webhooks, a
small receiver server defined here; no project code is involved.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.sms_emulator import GatewayEmulator, twilio_signature

ELKS_USER = "u0123456789abcdef0123456789abcdef"
ELKS_PASSWORD = "B1A2C3D4E5F6A7B8C9D0E1F2A3B4C5D6"
ELKS_NUMBER = "+46766861069"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
TWILIO_NUMBER = "+46700000123"
CITIZEN = "+46704508449"
OTHER = "+46701112233"
ELKS_CREATED = "%Y-%m-%dT%H:%M:%S.%f"
RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
TIMEOUT = 5.0


@pytest.fixture(scope="session", autouse=True)
def trained_model() -> None:
    """Overrides the integration conftest's fixture for this module: the emulator's tests
    use no project code, so they need no classifier (and stay fast and independent)."""


# -- a webhook receiver --------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def fields(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.fields)


@dataclass
class Receiver:
    """Records every POST; answers the queued (status, body) pairs, then 200 and ''."""

    answers: list[tuple[int, str]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/hook", userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}{path}"

    def answer_next(self) -> tuple[int, str]:
        with self.lock:
            return self.answers.pop(0) if self.answers else (200, "")

    def record(self, item: Received) -> None:
        with self.lock:
            self.received.append(item)

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self.lock:
            raise AssertionError(f"expected {count} webhook(s), got {len(self.received)}")


def _receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.record(Received(self.path, headers, body, time.monotonic()))
            status, text = receiver.answer_next()
            payload = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(rec))
    server.daemon_threads = True
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
    thread.join(timeout=TIMEOUT)


@pytest.fixture
def elks() -> Iterator[GatewayEmulator]:
    with GatewayEmulator("46elks", username=ELKS_USER, password=ELKS_PASSWORD,
                         number=ELKS_NUMBER, webhook_retry_seconds=0.05) as gateway:
        yield gateway


@pytest.fixture
def twilio() -> Iterator[GatewayEmulator]:
    with GatewayEmulator("twilio", username=TWILIO_SID, password=TWILIO_TOKEN,
                         number=TWILIO_NUMBER, webhook_retry_seconds=0.05) as gateway:
        yield gateway


def elks_client(gateway: GatewayEmulator) -> httpx.Client:
    return httpx.Client(base_url=gateway.api_url, auth=(ELKS_USER, ELKS_PASSWORD),
                        timeout=TIMEOUT)


def twilio_client(gateway: GatewayEmulator) -> httpx.Client:
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


# -- 46elks --------------------------------------------------------------------------------


def test_elks_api_requires_basic_auth(elks: GatewayEmulator) -> None:
    anonymous = httpx.get(f"{elks.api_url}/sms", timeout=TIMEOUT)
    wrong = httpx.get(f"{elks.api_url}/sms", auth=(ELKS_USER, "wrong"), timeout=TIMEOUT)
    for response in (anonymous, wrong):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text
    with elks_client(elks) as client:
        assert client.get("/sms").status_code == 200


def test_elks_incoming_webhook_has_the_six_documented_fields(
        elks: GatewayEmulator, receiver: Receiver) -> None:
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
        elks: GatewayEmulator, receiver: Receiver) -> None:
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


def test_elks_webhook_connection_errors_are_recorded_as_zero(elks: GatewayEmulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    elks.webhook_attempts = 3
    elks.webhook_url = f"http://127.0.0.1:{closed_port}/hook"
    sms_id = elks.incoming(CITIZEN, "Ingen lyssnar")
    elks.wait_for_webhooks(TIMEOUT)
    assert elks.webhook_attempts_made(sms_id) == [0, 0, 0]


def test_elks_non_empty_answer_is_sent_as_a_reply_sms(
        elks: GatewayEmulator, receiver: Receiver) -> None:
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


def test_elks_empty_answer_sends_no_reply(elks: GatewayEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url()
    elks.incoming(CITIZEN, "Hej")
    elks.wait_for_webhooks(TIMEOUT)
    with elks_client(elks) as client:
        assert [item["direction"] for item in elks_history(client)["data"]] == ["incoming"]


def test_elks_history_is_newest_first_and_filters_on_recipient(elks: GatewayEmulator) -> None:
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
        elks: GatewayEmulator) -> None:
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


def test_elks_history_start_and_end_are_exclusive(elks: GatewayEmulator) -> None:
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


def test_elks_send_validates_and_answers_the_documented_fields(elks: GatewayEmulator) -> None:
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
        elks: GatewayEmulator, receiver: Receiver) -> None:
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
        elks: GatewayEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url()
    sms_id = elks.incoming(CITIZEN, "Dubbel", duplicate=True)
    elks.wait_for_webhooks(TIMEOUT)
    hooks = receiver.wait_for(2)
    assert len(hooks) == 2
    assert hooks[0].body == hooks[1].body
    assert hooks[0].form["id"] == sms_id
    assert elks.webhook_attempts_made(sms_id) == [200, 200]


def test_elks_undelivered_sms_is_only_in_the_history(
        elks: GatewayEmulator, receiver: Receiver) -> None:
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
        elks: GatewayEmulator, receiver: Receiver) -> None:
    elks.webhook_url = receiver.url()
    early = elks.incoming(CITIZEN, "först skriven", delay=0.3)
    late = elks.incoming(CITIZEN, "sist skriven")
    with pytest.raises(TimeoutError):
        elks.wait_for_webhooks(0.01)
    elks.wait_for_webhooks(TIMEOUT)
    hooks = receiver.wait_for(2)
    assert [hook.form["id"] for hook in hooks] == [late, early]
    assert hooks[1].form["created"] < hooks[0].form["created"]


def test_fail_next_answers_errors_then_recovers(elks: GatewayEmulator) -> None:
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


def test_slow_seconds_delays_every_answer(elks: GatewayEmulator) -> None:
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


# -- Twilio --------------------------------------------------------------------------------


def test_twilio_signature_reproduces_the_documented_example() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    # The same algorithm, written out independently.
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(b"12345", payload.encode(), hashlib.sha1).digest()
    assert base64.b64encode(digest).decode() == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilio_incoming_webhook_is_signed(twilio: GatewayEmulator, receiver: Receiver) -> None:
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
        twilio: GatewayEmulator, receiver: Receiver) -> None:
    twilio.webhook_url = receiver.url("/in", userinfo="tw:pw")
    twilio.incoming(CITIZEN, "Hej")
    twilio.wait_for_webhooks(TIMEOUT)
    [hook] = receiver.wait_for(1)
    assert hook.headers["authorization"] == basic("tw", "pw")
    assert hook.headers["x-twilio-signature"] == twilio_signature(
        TWILIO_TOKEN, receiver.base + "/in", hook.form)


def test_twilio_tries_a_failed_webhook_only_once(
        twilio: GatewayEmulator, receiver: Receiver) -> None:
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
        twilio: GatewayEmulator, receiver: Receiver) -> None:
    receiver.answers = [(200, "<?xml version='1.0'?><Response><Message>Tack!</Message>"
                              "</Response>")]
    twilio.webhook_url = receiver.url()
    twilio.incoming(CITIZEN, "Hej")
    twilio.wait_for_webhooks(TIMEOUT)
    with twilio_client(twilio) as client:
        messages = client.get(messages_path()).json()["messages"]
    assert [(m["direction"], m["body"]) for m in messages] == [
        ("outbound-reply", "Tack!"), ("inbound", "Hej")]


def test_twilio_api_requires_the_account_credentials(twilio: GatewayEmulator) -> None:
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


def test_twilio_send_answers_201_with_the_message_resource(twilio: GatewayEmulator) -> None:
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


def test_twilio_status_callback_is_signed(twilio: GatewayEmulator, receiver: Receiver) -> None:
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


def test_twilio_list_pages_through_next_page_uri(twilio: GatewayEmulator) -> None:
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


def test_twilio_list_filters_on_date_sent(twilio: GatewayEmulator) -> None:
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
