"""SMS on the production path, with chaos: `synpunkt web` takes the 46elks
webhooks, the listener polls, two workers register and answer, the
scheduler sweeps; meanwhile webhooks are duplicated, lost and reordered, the
web process is killed with SIGKILL and restarted, and the
gateway's API answers 500 for a while. Afterwards: every SMS stored exactly
once and processed, one case and at most one receipt per number, none doubled."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from cases.models import Case, Contact, Inbound, InboundStatus, Outbox, OutboxStatus
from tests.harness.redis_server import redis_url
from tests.harness.sms.elks import ElksEmulator
from tests.stack import Stack, running_stack, wait_until
from tests.support import free_port

NUMBER, USER, PASSWORD, SECRET = "+46700000100", "u0123456789", "api-pw", "krok-hemlighet"
TEXTS = [
    "Hej, gatlampan på Ekvägen 12 har varit trasig i två veckor.",
    "Soptunnan på Björkvägen har inte tömts sedan förra måndagen.",
    "Tack för ett fint bemötande på biblioteket i går!",
    "Min mamma på Solgården har inte fått sin medicin i tid den här veckan.",
    "Det är hål i asfalten på cykelbanan vid skolan, någon kan skada sig.",
    "Bra jobbat med snöröjningen i morse, vägen var fin.",
]


def _start_web(stack: Stack, port: int) -> None:
    stack.start("web", "--port", str(port))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"synpunkt web did not answer\n{stack.logs()}")


def test_sms_chaos_on_the_production_path(tmp_path: Path, postgres_url: str) -> None:
    rng = random.Random(11)
    redis = redis_url()
    assert redis, "Redis is needed"
    with ElksEmulator(username=USER, password=PASSWORD, number=NUMBER,
                      webhook_retry_seconds=0.3, webhook_attempts=5) as gateway:
        env = {"SYNPUNKT_SMS_PROVIDER": "46elks", "SYNPUNKT_SMS_API_URL": gateway.api_url,
               "SYNPUNKT_SMS_USERNAME": USER, "SYNPUNKT_SMS_PASSWORD": PASSWORD,
               "SYNPUNKT_SMS_WEBHOOK_SECRET": SECRET, "SYNPUNKT_SMS_JOIN_SECONDS": "1",
               "SYNPUNKT_SMS_POLL_SECONDS": "1", "SYNPUNKT_DELIVERY_RETRY_SECONDS": "1",
               "SYNPUNKT_SWEEP_GRACE_SECONDS": "5"}
        with running_stack(tmp_path, postgres_url, redis, env) as stack:
            for command in (("worker", "--threads", "4"), ("listener",), ("scheduler",)):
                stack.start(*command)
            port = free_port()
            _start_web(stack, port)
            gateway.webhook_url = f"http://{USER}:{quote(SECRET)}@127.0.0.1:{port}/sms/46elks"

            senders = [f"+4673{i:07d}" for i in range(36)]
            sent: list[str] = []
            per_number: Counter[str] = Counter()

            def burst(numbers: list[str]) -> None:
                for number in numbers:
                    for part in range(rng.choice((1, 1, 2, 3))):
                        roll = rng.random()
                        sent.append(gateway.incoming(
                            number, f"{rng.choice(TEXTS)} (del {part + 1})",
                            duplicate=roll < 0.2, deliver=not 0.2 <= roll < 0.35,
                            delay=rng.uniform(0, 0.8) if 0.35 <= roll < 0.5 else 0.0))
                        per_number[number] += 1
                        time.sleep(0.05)

            burst(senders[:12])
            web = next(p for p in stack.procs if p.args[1] == "web")  # type: ignore[index]
            stack.procs.remove(web)
            os.killpg(web.pid, signal.SIGKILL)
            web.wait(timeout=30)
            burst(senders[12:24])  # the webhooks fail now: the poll must catch them
            _start_web(stack, port)
            gateway.fail_next(6, 500)
            burst(senders[24:])

            def settled() -> bool:
                with stack.engine.connect() as conn:
                    stored = conn.scalar(select(func.count()).select_from(Inbound)
                                         .where(Inbound.channel == "sms")) or 0
                    waiting = conn.scalar(select(func.count()).select_from(Inbound).where(
                        Inbound.channel == "sms", Inbound.status == InboundStatus.RECEIVED)) or 0
                    busy = conn.scalar(select(func.count()).select_from(Outbox).where(
                        Outbox.channel == "sms",
                        Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))) or 0
                return stored == len(sent) and waiting == 0 and busy == 0

            wait_until(settled, 120, stack, "every SMS stored, processed and answered")

            with stack.engine.connect() as conn:
                keys = conn.execute(select(Inbound.source_key, Inbound.status, Inbound.case_id)
                                    .where(Inbound.channel == "sms")).all()
                cases = conn.execute(select(Case.id, Contact.phone).join(
                    Contact, Contact.case_id == Case.id)).all()
                rows = conn.execute(select(Outbox.recipient, Outbox.status)
                                    .where(Outbox.channel == "sms")).all()
            assert sorted(k for k, _, _ in keys) == sorted(sent)  # none lost, none twice
            assert all(status == "processed" and case for _, status, case in keys)
            phones = Counter(phone for _, phone in cases)
            assert set(phones) == set(senders) and max(phones.values()) == 1
            statuses = Counter(status for _, status in rows)
            assert set(statuses) <= {"sent", "uncertain"}, statuses
            out = Counter(m["to"] for m in gateway.outgoing())
            assert max(out.values()) == 1, "a number got two receipts"
            sent_rows = {recipient for recipient, status in rows if status == "sent"}
            assert sent_rows <= set(out)
            print(f"\nSMS chaos: {len(sent)} SMS from {len(senders)} numbers, "
                  f"{len(cases)} cases, receipts {dict(statuses)}, "
                  f"{len(gateway.outgoing())} SMS out")
