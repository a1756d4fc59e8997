"""The logs of full end-to-end runs carry no message text, no full e-mail
address, no phone number and no personnummer. Two runs at the most verbose
level there is (`synpunkt -v`, DEBUG on every logger): the embedded
`run --once` over every fixture mail, and the production stack (listener,
worker, scheduler and `synpunkt web` taking an SMS webhook) over the same
mails and one SMS. Every line the processes write, and every log file under
SYNPUNKT_HOME, is checked. Masked forms (`+46*******67`) are fine."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from cases.models import Inbound, InboundStatus, Outbox, OutboxStatus
from classify import sensitive
from config.settings import Limits
from ingest.message import Message
from ingest.parse import parse
from tests.harness.redis_server import RedisServer
from tests.harness.sms.elks import ElksEmulator
from tests.stack import PASSWORD, USER, citizen_mails, running_stack, wait_until
from tests.support import FIXTURES, free_port, manifest, run_cli

SMS_FROM, SMS_NUMBER = "+46701234567", "+46700000100"
SMS_TEXT = ("Hej! Min pappa Sture med personnummer 19400101-0000 fick fel medicin på "
            "Solgården i går. Ring mig på 070-123 45 67 eller 08-555 123 45.")
KOMMUN_DOMAIN = "ekby.example"  # the kommun's own addresses (funktionsbrevlåda, chefs) may show
WORD = re.compile(r"[^\W\d_]{2,}")
# Ids in log lines (dramatiq's message ids) whose digits could read as a phone number.
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)


def shingles(text: str, n: int = 5) -> set[str]:
    words = [w.lower() for w in WORD.findall(text)]
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def secrets_of_the_fixtures() -> tuple[set[str], set[str]]:
    """Five-word phrases of every fixture's subject and text, and every sender."""
    phrases, senders = shingles(SMS_TEXT), {SMS_FROM}
    for entry in manifest():
        raw = (FIXTURES / entry["file"]).read_bytes()
        message = parse(raw, Limits())
        if isinstance(message, Message):
            phrases |= shingles(message.subject) | shingles(message.text)
        for phrase in entry.get("text_contains") or []:
            phrases |= shingles(phrase, min(5, len(WORD.findall(phrase))) or 1)
        if entry.get("sender") and not entry["sender"].lower().endswith(KOMMUN_DOMAIN):
            senders.add(entry["sender"].lower())
    return {p for p in phrases if p.count(" ") >= 2}, senders


def leaks(lines: Iterable[str]) -> list[str]:
    """Every log line that carries personal data, with what it carries."""
    phrases, senders = secrets_of_the_fixtures()
    found = []
    for line in lines:
        why = [f"{s.kind} {s.text!r}" for s in sensitive.find(UUID.sub("<uuid>", line))
               if s.kind in (sensitive.PNR, sensitive.SAMORDNING, sensitive.PHONE)
               or (s.kind == sensitive.EMAIL and not s.text.lower().endswith(KOMMUN_DOMAIN))]
        lowered = line.lower()
        why += [f"sender {s!r}" for s in senders if s in lowered]
        why += [f"text {p!r}" for p in shingles(line) & phrases]
        if why:
            found.append(f"{'; '.join(why)}  <-  {line[:300]}")
    return found


def log_lines(*texts: str, home: Path) -> list[str]:
    lines = [line for text in texts for line in text.splitlines()]
    for path in home.rglob("*.log"):
        lines += path.read_text("utf-8", errors="replace").splitlines()
    return lines


def test_the_checker_catches_each_kind_of_leak() -> None:
    planted = ["INFO service.intake: from birgitta.holm@example.se",
               "DEBUG x: sms from +46701234567", "DEBUG x: ring 070-123 45 67",
               "INFO x: pnr 19400101-0000", "INFO x: text " + SMS_TEXT[30:90]]
    assert len(leaks(planted)) == len(planted)
    clean = ["INFO service.intake: case registered inbound_id=3 case_id=2 parts=1",
             "INFO x: sms from +46*******67", "2026-11-24 03:01:02,123 INFO listener stored",
             "DEBUG dramatiq: Enqueueing message '03782188-fb53-49b3-b942-a56f7bb9b2a9'"]
    assert leaks(clean) == []


def test_an_embedded_run_logs_nothing_personal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inbox = home / "inbox"
    for sub in ("tmp", "new", "cur"):
        (inbox / sub).mkdir(parents=True)
    for entry in manifest():
        name = entry["file"].removesuffix(".eml")
        (inbox / "tmp" / name).write_bytes((FIXTURES / entry["file"]).read_bytes())
        (inbox / "tmp" / name).rename(inbox / "new" / name)
    done = run_cli("-v", "run", "--once", home=home)
    lines = log_lines(done.stdout, done.stderr, home=home)
    assert any(" DEBUG " in line for line in lines), "not the most verbose level"
    assert any("case registered" in line for line in lines)
    found = leaks(lines)
    assert not found, "personal data in the logs:\n" + "\n".join(found[:40])


def test_the_production_stack_logs_nothing_personal(tmp_path: Path, postgres_url: str) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    user, password, secret = "u0123456789", "sms-api-Losen-7", "krok-hemlighet-9"
    # PostgreSQL here trusts loopback: the password is not checked, only carried.
    database = postgres_url.replace("://postgres@", "://postgres:pg-Losen-3@", 1)
    try:
        with ElksEmulator(username=user, password=password,
                          number=SMS_NUMBER) as gateway:
            env = {"SYNPUNKT_SMS_PROVIDER": "46elks", "SYNPUNKT_SMS_API_URL": gateway.api_url,
                   "SYNPUNKT_SMS_USERNAME": user, "SYNPUNKT_SMS_PASSWORD": password,
                   "SYNPUNKT_SMS_WEBHOOK_SECRET": secret, "SYNPUNKT_SMS_JOIN_SECONDS": "0.5",
                   "SYNPUNKT_SMS_POLL_SECONDS": "1", "SYNPUNKT_METRICS_TOKEN": "metrik-Zt81"}
            with running_stack(tmp_path, database, redis.url(1), env) as stack:
                mails = citizen_mails()[:8]
                for _name, raw in mails:
                    stack.dovecot.append(USER, PASSWORD, raw)
                port = free_port()
                for command in (("worker", "--threads", "2"), ("listener",), ("scheduler",),
                                ("web", "--port", str(port))):
                    stack.start("-v", *command)
                gateway.webhook_url = (f"http://{user}:{quote(secret)}@127.0.0.1:{port}"
                                       "/sms/46elks")
                wait_until(lambda: _answers(port), 60, stack, "synpunkt web")
                gateway.incoming(SMS_FROM, SMS_TEXT)

                def settled() -> bool:
                    with stack.engine.connect() as conn:
                        waiting = conn.execute(select(func.count()).select_from(Inbound).where(
                            Inbound.status == InboundStatus.RECEIVED)).scalar_one()
                        stored = conn.execute(select(func.count()).select_from(Inbound)
                                              ).scalar_one()
                        unsent = conn.execute(select(func.count()).select_from(Outbox).where(
                            Outbox.status != OutboxStatus.SENT)).scalar_one()
                    return stored == len(mails) + 1 and waiting == 0 and unsent == 0

                wait_until(settled, 120, stack, "every mail and the SMS processed and answered")
                assert any(m["to"] == SMS_FROM for m in gateway.outgoing())
                stack.stop_all()
                lines = log_lines(home=stack.home)
    finally:
        redis.stop()
    assert any(" DEBUG " in line for line in lines), "not the most verbose level"
    assert any("sms" in line for line in lines) and any("listener" in line for line in lines)
    found = leaks(lines)
    assert not found, "personal data in the logs:\n" + "\n".join(found[:40])
    # Nor a secret: every one the processes were given, in anything they wrote.
    given = [PASSWORD, quote(PASSWORD, safe=""), password, secret, "metrik-Zt81"]
    for value in given + (["pg-Losen-3"] if database != postgres_url else []):
        assert not [line for line in lines if value in line], value


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.2)
        return False
