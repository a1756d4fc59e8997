"""SMS end to end against the gateway emulator on loopback: webhooks into
`synpunkt web`'s application, polling, joining, threading, the SMS
mottagningsbevis, delivery reports, and what happens when things go wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from cases.migrate import upgrade
from cases.models import Case, Contact, Event, Inbound, Outbox, OutboxStatus, SourceCursor
from config.errors import OutcomeUnknownError, PermanentError, TransientError
from config.settings import Settings
from ingest.sms.elks import ElksGateway
from ingest.sms.twilio import TwilioGateway
from service.app import App, build_app
from tests.harness.sms import emulator_for
from tests.harness.sms.base import GatewayEmulator
from tests.harness.sms.elks import ElksEmulator
from tests.harness.sms.twilio import TwilioEmulator, twilio_signature
from tests.support import serve_web
from workers.embedded import run_once

NUMBER = "+46700000100"  # Ekby's sms_nummer
ELKS_USER, ELKS_PASSWORD, HOOK_SECRET = "u0123456789", "api-lösen", "hemlig krok"
TWILIO_SID, TWILIO_TOKEN = "AC" + "0" * 32, "twilio-token"
ANNA, BERIT, CARL = "+46701234567", "+46702345678", "+46703456789"


@dataclass
class World:
    app: App
    gateway: GatewayEmulator
    web: str

    def run(self) -> None:
        run_once(self.app)

    def settle(self, seconds: float = 0.0) -> None:
        """Webhooks delivered, the join window passed, one embedded pass."""
        self.gateway.wait_for_webhooks(timeout=10)
        time.sleep(seconds)
        run_once(self.app)

    def count(self, model: type, *where: object) -> int:
        with self.app.sessions() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def cases(self) -> list[Case]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Case).order_by(Case.id)))

    def receipts_to(self, number: str) -> list[str]:
        return [m["message"] for m in self.gateway.outgoing() if m["to"] == number]


def _world(tmp_path: Path, provider: str, **settings: object) -> Iterator[World]:
    user, password = (ELKS_USER, ELKS_PASSWORD) if provider == "46elks" else (TWILIO_SID,
                                                                              TWILIO_TOKEN)
    with emulator_for(provider, username=user, password=password, number=NUMBER,
                      webhook_retry_seconds=0.1) as gateway:
        base = Settings(home=tmp_path / "home", sms_provider=provider, sms_api_url=gateway.api_url,
                        sms_username=user, sms_password=password, sms_webhook_secret=HOOK_SECRET,
                        sms_join_seconds=0.5, **settings)  # type: ignore[arg-type]
        app = build_app(base)
        upgrade(app.engine)
        with serve_web(app) as web:
            if provider == "46elks":
                gateway.webhook_url = _with_auth(web) + "/sms/46elks"
            else:
                gateway.webhook_url = f"{web}/sms/twilio"
            yield World(app, gateway, web)


def _with_auth(web: str) -> str:
    """46elks's webhook URL form for Basic auth: http://user:secret@host."""
    return web.replace("http://", f"http://{ELKS_USER}:{quote(HOOK_SECRET)}@")


@pytest.fixture
def elks(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, "46elks")


@pytest.fixture
def twilio(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, "twilio")


# -- the adapters against the documented API ---------------------------------------------

def test_elks_poll_pages_through_the_history_and_keeps_only_incoming() -> None:
    with ElksEmulator(username="u", password="p", number=NUMBER) as emu:
        start = datetime.now(UTC) - timedelta(minutes=30)
        ids = {emu.incoming(f"+4670{i:07d}", f"sms {i}", created=start + timedelta(seconds=i))
               for i in range(150)}
        gateway = ElksGateway("u", "p", NUMBER, api_url=emu.api_url)
        gateway.send(ANNA, "ett utgående sms")  # in the history, not ours to take in
        fetched = gateway.fetch_since(None, datetime.now(UTC))
        assert {r.id for r in fetched.records} == ids
        assert fetched.pages == 2  # at most 100 a page
        assert [r.created for r in fetched.records] == sorted(r.created for r in fetched.records)
        again = gateway.fetch_since(fetched.cursor, datetime.now(UTC))
        assert {r.id for r in again.records} <= ids  # the overlap: seen again, never skipped
        late = emu.incoming(ANNA, "sent", created=start + timedelta(seconds=200))
        assert late in {r.id for r in gateway.fetch_since(fetched.cursor, datetime.now(UTC))
                        .records}


def test_elks_errors_become_the_projects_own() -> None:
    with ElksEmulator(username="u", password="p", number=NUMBER) as emu:
        wrong = ElksGateway("u", "fel", NUMBER, api_url=emu.api_url)
        with pytest.raises(PermanentError, match="inloggningen nekades"):
            wrong.fetch_since(None, datetime.now(UTC))
        gateway = ElksGateway("u", "p", NUMBER, api_url=emu.api_url, timeout=0.5)
        emu.fail_next(1, 503)
        with pytest.raises(TransientError):
            gateway.send(ANNA, "hej")
        assert emu.outgoing() == []
        with pytest.raises(PermanentError):
            gateway.send("0701", "hej")  # 46elks: "Invalid to"
        emu.slow_seconds = 1.0
        with pytest.raises(OutcomeUnknownError):
            gateway.send(ANNA, "hej")  # the answer never came: it may have gone out
        emu.slow_seconds = 0
        deadline = time.monotonic() + 5
        while not emu.outgoing() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(emu.outgoing()) == 1  # it had gone out: retrying would have doubled it
    with pytest.raises(TransientError):
        gateway.fetch_since(None, datetime.now(UTC))  # the gateway is gone


def test_twilio_poll_follows_next_page_uri_and_send_answers_a_sid() -> None:
    with TwilioEmulator(username=TWILIO_SID, password=TWILIO_TOKEN, number=NUMBER) as emu:
        now = datetime.now(UTC)
        ids = {emu.incoming(f"+4670{i:07d}", f"sms {i}", created=now - timedelta(seconds=i))
               for i in range(450)}
        gateway = TwilioGateway(TWILIO_SID, TWILIO_TOKEN, NUMBER, api_url=emu.api_url)
        fetched = gateway.fetch_since((now - timedelta(minutes=20)).isoformat(), now)
        assert {r.id for r in fetched.records} == ids and fetched.pages == 3
        sid = gateway.send(ANNA, "Hej från Ekby")
        assert sid.startswith("SM") and emu.outgoing()[0]["to"] == ANNA
        with pytest.raises(PermanentError):
            TwilioGateway(TWILIO_SID, "fel", NUMBER, api_url=emu.api_url).send(ANNA, "x")


# -- end to end: 46elks -------------------------------------------------------------------

def test_an_sms_becomes_a_case_with_one_sms_receipt(elks: World) -> None:
    elks.gateway.incoming("070-123 45 67", "Hej! Det luktar illa från avloppet på Storgatan 5, "
                          "har varit så i en vecka.")
    elks.settle(0.6)
    [case] = elks.cases()
    assert case.channel == "sms" and case.subject.startswith("Sms: Hej! Det luktar")
    with elks.app.sessions() as session:
        contact = session.scalar(select(Contact).where(Contact.case_id == case.id))
        assert contact is not None and contact.phone == ANNA and contact.email is None
    [receipt] = elks.receipts_to(ANNA)
    assert case.diarienummer in receipt and len(receipt) <= 160
    assert "Svara på detta sms" in receipt
    with elks.app.sessions() as session:
        row = session.scalar(select(Outbox).where(Outbox.channel == "sms"))
        assert row is not None and row.status == OutboxStatus.SENT and row.provider_id
    elks.run()  # a second pass sends nothing more
    assert len(elks.receipts_to(ANNA)) == 1


def test_duplicated_and_missed_webhooks_give_one_case_each(elks: World) -> None:
    elks.gateway.incoming(ANNA, "Soptunnan har inte tömts på tre veckor.", duplicate=True)
    missed = elks.gateway.incoming(BERIT, "Tack för den fina nya lekplatsen i parken!",
                                   deliver=False)
    elks.gateway.wait_for_webhooks()
    assert elks.count(Inbound) == 1  # the duplicate was upserted, the missed one not seen
    elks.settle(0.6)  # the pass polls the gateway: the missed SMS is caught
    assert elks.count(Inbound) == 2
    assert elks.count(Inbound, Inbound.source_key == missed) == 1
    assert len(elks.cases()) == 2
    assert len(elks.receipts_to(ANNA)) == 1 and len(elks.receipts_to(BERIT)) == 1
    elks.settle()  # polling again stores nothing twice
    assert elks.count(Inbound) == 2 and len(elks.cases()) == 2


def test_a_text_split_over_several_sms_is_one_case(elks: World) -> None:
    now = datetime.now(UTC)
    parts = ["Hej, jag vill klaga på snöröjningen", "på Björkvägen. Plogbilen har inte",
             "varit här sedan i fredags och vi kommer inte ut med bilen."]
    # Delivered out of order: the last part's webhook first, the first part only by poll.
    # (The world's join window is 0.5 s: the parts are sent 0.2 s apart.)
    elks.gateway.incoming(CARL, parts[0], created=now - timedelta(seconds=0.4), deliver=False)
    elks.gateway.incoming(CARL, parts[1], created=now - timedelta(seconds=0.2), delay=0.3)
    elks.gateway.incoming(CARL, parts[2], created=now)
    elks.settle(0.8)
    [case] = elks.cases()
    assert case.text == "\n".join(parts)
    assert elks.count(Inbound, Inbound.case_id == case.id) == 3
    assert len(elks.receipts_to(CARL)) == 1


def test_a_text_still_being_typed_waits_for_the_rest(elks: World) -> None:
    elks.app = replace(elks.app, settings=elks.app.settings.model_copy(
        update={"sms_join_seconds": 30.0}))
    elks.gateway.incoming(CARL, "Första delen av ett långt sms")
    elks.settle()
    assert elks.cases() == [] and elks.count(Inbound) == 1  # waits: more may come
    later = elks.app.clock() + timedelta(seconds=31)
    elks.app = replace(elks.app, clock=lambda: later)
    elks.run()
    assert len(elks.cases()) == 1


def test_a_reply_to_the_receipt_joins_the_case_without_a_second_receipt(elks: World) -> None:
    elks.gateway.incoming(ANNA, "Gatlampan vid busshållplatsen på Ekvägen är trasig.")
    elks.settle(0.6)
    [case] = elks.cases()
    elks.gateway.incoming(ANNA, "Det gäller lampan närmast skolan.")
    elks.settle(0.6)
    assert len(elks.cases()) == 1
    assert elks.count(Inbound, Inbound.case_id == case.id) == 2
    assert elks.count(Event, Event.kind == "case.reply_received") == 1
    assert len(elks.receipts_to(ANNA)) == 1
    # From another phone, naming the diarienummer: the same case.
    elks.gateway.incoming(BERIT, f"Angående {case.diarienummer.lower()}: lampan lyser igen")
    elks.settle(0.6)
    assert len(elks.cases()) == 1 and elks.receipts_to(BERIT) == []


def test_automatic_texts_get_no_case_and_no_answer(elks: World) -> None:
    elks.gateway.incoming("Posten", "Ditt paket har kommit till ombudet.")
    elks.gateway.incoming("72400", "Din kod är 1234")
    elks.gateway.incoming(NUMBER, "vårt eget sms som kommit tillbaka")
    elks.settle(0.6)
    assert elks.cases() == [] and elks.gateway.outgoing() == []
    with elks.app.sessions() as session:
        reasons = sorted(r.split(":")[0] for r in session.scalars(select(Inbound.reason)) if r)
    assert reasons == ["own-number", "sms-sender", "sms-short-code"]


def test_unauthenticated_webhooks_are_refused_and_nothing_is_stored(elks: World) -> None:
    form = {"direction": "incoming", "id": "sfake", "from": ANNA, "to": NUMBER,
            "message": "falskt", "created": "2026-11-23T10:00:00.000000"}
    url = f"{elks.web}/sms/46elks"
    assert httpx.post(url, data=form).status_code == 401
    assert httpx.post(url, data=form, auth=(ELKS_USER, "fel")).status_code == 401
    assert httpx.post(url, data=form, auth=(ELKS_USER, ELKS_PASSWORD)).status_code == 401
    assert httpx.post(f"{elks.web}/sms/twilio", data=form).status_code == 404
    assert httpx.post(url, content=b"x" * 70_000, auth=(ELKS_USER, HOOK_SECRET)).status_code == 413
    assert elks.count(Inbound) == 0
    answer = httpx.post(url, data=form, auth=(ELKS_USER, HOOK_SECRET))
    assert answer.status_code == 204 and answer.content == b""  # a body would be sent as an SMS
    assert elks.count(Inbound) == 1


def test_the_automatic_answers_per_number_are_limited(tmp_path: Path) -> None:
    worlds = _world(tmp_path, "46elks", sms_reply_hours=0, auto_reply_limit=2)
    world = next(worlds)
    try:
        for i in range(4):
            world.gateway.incoming(ANNA, f"Ärende nummer {i} om gatubelysningen.",
                                   created=datetime.now(UTC) - timedelta(minutes=20 * (4 - i)))
        world.settle(0.6)
        assert len(world.cases()) == 4
        assert len(world.receipts_to(ANNA)) == 2
    finally:
        worlds.close()


def test_delivery_reports_are_recorded(tmp_path: Path) -> None:
    worlds = _world(tmp_path, "46elks")
    world = next(worlds)
    try:
        status = _with_auth(world.web) + "/sms/46elks/status"
        world.app.transports.sms.status_url = status  # type: ignore[union-attr]
        world.gateway.incoming(ANNA, "Bra jobbat med snöröjningen i morse!")
        world.settle(0.6)
        world.gateway.wait_for_webhooks()
        with world.app.sessions() as session:
            row = session.scalar(select(Outbox).where(Outbox.channel == "sms"))
            assert row is not None and row.delivery_status == "delivered" and row.delivered_at
        assert world.count(Event, Event.kind == "mottagningsbevis.delivered") == 1
    finally:
        worlds.close()


def _sms_row(world: World) -> Outbox:
    with world.app.sessions() as session:
        row = session.scalar(select(Outbox).where(Outbox.channel == "sms"))
        assert row is not None
        return row


def test_a_lost_answer_is_never_resent_blindly_but_settled_by_the_history(elks: World) -> None:
    elks.app.transports.sms.gateway.api._client.timeout = httpx.Timeout(0.5)  # type: ignore[union-attr]
    elks.gateway.incoming(ANNA, "Vattnet i badhuset är kallt.")
    elks.gateway.wait_for_webhooks()
    time.sleep(0.6)
    elks.gateway.slow_seconds = 1.0  # the SMS goes out, the answer comes too late
    elks.run()
    elks.gateway.slow_seconds = 0
    assert _sms_row(elks).status == OutboxStatus.UNCERTAIN
    time.sleep(1.0)
    elks.run()  # the next pass asks the history: it went out
    row = _sms_row(elks)
    assert row.status == OutboxStatus.SENT and row.provider_id
    assert len(elks.receipts_to(ANNA)) == 1
    assert elks.count(Event, Event.kind == "mottagningsbevis.reconciled") == 1


def test_an_uncertain_sms_the_gateway_never_got_is_sent_after_the_grace(elks: World) -> None:
    elks.gateway.incoming(BERIT, "Tack för hjälpen i receptionen!")
    elks.gateway.wait_for_webhooks()
    time.sleep(0.6)
    elks.gateway.fail_next(2, 504)  # the poll gets one, the send the other: outcome unknown
    elks.run()
    assert _sms_row(elks).status == OutboxStatus.UNCERTAIN
    elks.run()  # not in the history, but within the grace: still uncertain
    assert _sms_row(elks).status == OutboxStatus.UNCERTAIN and elks.receipts_to(BERIT) == []
    later = datetime.now(UTC) + timedelta(minutes=6)
    elks.app = replace(elks.app, clock=lambda: later)
    elks.run()  # past the grace and still not at the gateway: it never left, send it
    assert _sms_row(elks).status == OutboxStatus.SENT
    assert len(elks.receipts_to(BERIT)) == 1


# -- end to end: Twilio -------------------------------------------------------------------

def test_twilio_signed_webhook_to_case_and_receipt(twilio: World) -> None:
    twilio.gateway.incoming(ANNA, "Hej, fönstret i matsalen på Ekbyskolan är sönder.")
    twilio.gateway.incoming(BERIT, "Bra bemötande i receptionen på simhallen!", deliver=False)
    twilio.settle(0.6)
    assert len(twilio.cases()) == 2
    assert len(twilio.receipts_to(ANNA)) == 1 and len(twilio.receipts_to(BERIT)) == 1
    with twilio.app.sessions() as session:
        assert session.get(SourceCursor, "sms:twilio") is not None


def test_twilio_forged_signature_is_refused(twilio: World) -> None:
    url = f"{twilio.web}/sms/twilio"
    form = {"MessageSid": "SMfake", "From": ANNA, "To": NUMBER, "Body": "falskt"}
    assert httpx.post(url, data=form).status_code == 401
    forged = twilio_signature("fel-token", url, form)
    assert httpx.post(url, data=form, headers={"X-Twilio-Signature": forged}).status_code == 401
    good = twilio_signature(TWILIO_TOKEN, url, form)
    answer = httpx.post(url, data=form, headers={"X-Twilio-Signature": good})
    assert answer.status_code == 200 and "<Response>" in answer.text
    assert twilio.count(Inbound) == 1


def test_health_endpoint(elks: World) -> None:
    answer = httpx.get(f"{elks.web}/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "sms": "46elks"}
