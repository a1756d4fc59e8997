"""Chaos on the production path, bounded in count and time, loopback only.

300 mails flow into Dovecot while, over 24 rounds, the listener or a worker
is killed with SIGKILL at random moments and restarted, Dovecot restarts
during IDLE, Redis stops for 10 s, and the SMTP sink answers 451 for a while.
Afterwards: nothing lost, no duplicate case, no duplicate receipt, every
inbound row processed.
"""

from __future__ import annotations

import email
import email.policy
import random
import re
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from cases.models import Case, Inbound, InboundStatus, Outbox, OutboxStatus
from tests.servers import RedisServer
from tests.stack import PASSWORD, USER, Stack, running_stack, wait_until
from tests.support import FIXTURES, manifest

CITIZENS = 270
AUTOMATIC = 30
ROUNDS = 24


def mails() -> list[tuple[str, bool, bytes]]:
    """(Message-ID, is a citizen, raw): 270 citizen mails with their own senders
    and 30 automatic ones, all with distinct Message-IDs."""
    entries = manifest()
    citizens = [e for e in entries if e["expect"] == "case"]
    automatic = [e for e in entries if e["expect"] == "ignored"]
    out = []
    for i in range(CITIZENS):
        e = citizens[i % len(citizens)]
        mid = f"<chaos-c{i}@example.se>"
        raw = (FIXTURES / e["file"]).read_bytes().replace(
            e["sender"].encode(), f"invanare{i}@example.se".encode())
        out.append((mid, True, _with_id(raw, mid)))
    for i in range(AUTOMATIC):
        e = automatic[i % len(automatic)]
        mid = f"<chaos-a{i}@example.net>"
        out.append((mid, False, _with_id((FIXTURES / e["file"]).read_bytes(), mid)))
    random.Random(7).shuffle(out)
    return out


def _with_id(raw: bytes, mid: str) -> bytes:
    raw, n = re.subn(rb"(?im)^Message-ID:[^\n]*", f"Message-ID: {mid}".encode(), raw, count=1)
    return raw if n else f"Message-ID: {mid}\n".encode() + raw


def feed(stack: Stack, items: list[tuple[str, bool, bytes]], done: threading.Event) -> None:
    """APPEND every mail, retrying while Dovecot restarts."""
    for _mid, _citizen, raw in items:
        for _ in range(200):
            try:
                stack.dovecot.append(USER, PASSWORD, raw)
                break
            except Exception:
                time.sleep(0.1)
        time.sleep(0.03)
    done.set()


def test_chaos(tmp_path: Path, postgres_url: str) -> None:
    rng = random.Random(2026)
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    env = {"SYNPUNKT_SWEEP_GRACE_SECONDS": "3", "SYNPUNKT_DELIVERY_RETRY_SECONDS": "1",
           "SYNPUNKT_DELIVERY_LEASE_SECONDS": "8", "SYNPUNKT_IMAP_IDLE_SECONDS": "30"}
    try:
        with running_stack(tmp_path, postgres_url, redis.url(0), env) as stack:
            _chaos(stack, redis, rng)
    finally:
        redis.stop()


def _chaos(stack: Stack, redis: RedisServer, rng: random.Random) -> None:
    items = mails()
    listener = stack.start("listener")
    workers = [stack.start("worker", "--threads", "4") for _ in range(2)]
    stack.start("scheduler")
    fed = threading.Event()
    feeder = threading.Thread(target=feed, args=(stack, items, fed), daemon=True)
    feeder.start()

    kills = Counter[str]()
    for round_no in range(ROUNDS):
        time.sleep(rng.uniform(0.2, 1.2))
        if round_no == 6:
            stack.dovecot.restart()
            kills["dovecot restart"] += 1
        elif round_no == 12:
            redis.stop()
            time.sleep(10)
            redis.start()
            kills["redis stopped 10 s"] += 1
        elif round_no == 18:
            stack.sink.set_reply(451)
            time.sleep(3)
            stack.sink.set_reply(None)
            kills["smtp 451 for 3 s"] += 1
        elif rng.random() < 0.4:
            listener = stack.kill9_and_restart(listener)
            kills["listener kill -9"] += 1
        else:
            i = rng.randrange(len(workers))
            workers[i] = stack.kill9_and_restart(workers[i])
            kills["worker kill -9"] += 1
    assert fed.wait(180), "the feeder did not finish"
    print("chaos:", dict(kills))

    mids = {mid for mid, _c, _r in items}
    citizen_mids = {mid for mid, c, _r in items if c}

    def settled() -> bool:
        with stack.engine.connect() as conn:
            stored = set(conn.execute(select(Inbound.message_id)).scalars())
            waiting = conn.execute(select(func.count()).where(
                Inbound.status == InboundStatus.RECEIVED)).scalar_one()
            busy = conn.execute(select(func.count()).where(Outbox.status.in_(
                [OutboxStatus.PENDING, OutboxStatus.SENDING]))).scalar_one()
        return mids <= stored and waiting == 0 and busy == 0

    wait_until(settled, 240, stack, "all 300 mails settled after the chaos")

    with stack.engine.connect() as conn:
        inbound = conn.execute(select(Inbound.message_id, Inbound.status, Inbound.reason)).all()
        cases = conn.execute(select(Case.message_id)).scalars().all()
        outbox = Counter(conn.execute(select(Outbox.status).where(
            Outbox.kind == "mottagningsbevis")).scalars().all())
    # Nothing lost: every mail has a row, and every row was processed.
    assert mids <= {m for m, _s, _r in inbound}
    assert all(s != InboundStatus.RECEIVED for _m, s, _r in inbound)
    assert not [r for _m, s, r in inbound
                if s == InboundStatus.QUARANTINED and r and r.split(":")[0] != "broken-boundary"
                and r.split(":")[0] not in ("bad-base64", "no-sender", "unreadable-headers")]
    # No duplicate case: exactly one per citizen mail.
    assert Counter(cases) == Counter(citizen_mids)
    # No duplicate receipt: at most one per recipient, and one per sent row.
    delivered = [email.message_from_bytes(m, policy=email.policy.default)
                 for m in stack.sink.messages()]
    receipts = [m for m in delivered if m["Auto-Submitted"] == "auto-replied"]
    per_recipient = Counter(str(m["To"]) for m in receipts)
    assert max(per_recipient.values()) == 1
    # No notice to a chef twice either: one per recipient and case.
    notices = Counter((str(m["To"]), str(m["Subject"])) for m in delivered
                      if m["Auto-Submitted"] == "auto-generated")
    assert not notices or max(notices.values()) == 1
    # Every sent row reached the sink; an uncertain row may or may not have
    # (its worker died around the SMTP answer), but never twice.
    sent, uncertain = outbox[OutboxStatus.SENT], outbox[OutboxStatus.UNCERTAIN]
    assert sent <= len(receipts) <= sent + uncertain
    # Every case's receipt left, or is honestly marked uncertain for a person
    # (a worker killed between SMTP's answer and the update).
    assert sent + uncertain == len(cases)
    assert uncertain <= kills["worker kill -9"] * 8
    print("outbox:", dict(outbox))
    assert stack.dovecot.count(USER, PASSWORD, "INBOX") == 0
