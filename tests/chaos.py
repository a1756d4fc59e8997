"""Chaos on the production path, for the chaos test and the crash benchmark.

Citizen and automatic mails flow into Dovecot while, round after round, the
listener or a worker is killed with SIGKILL at random moments and
restarted, Dovecot is killed during IDLE (and later restarted gracefully),
Redis stops for 10 s, and the SMTP sink answers 451 for a while. Then
``outcome()`` counts what a citizen would notice: mails lost, cases twice,
receipts twice, notices twice, citizens without a receipt, and receipts
left ``uncertain`` for a person.
"""

from __future__ import annotations

import email
import email.policy
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from cases.models import Case, Inbound, InboundStatus, Outbox, OutboxStatus
from tests.harness.redis_server import RedisServer
from tests.stack import PASSWORD, USER, Stack, wait_until
from tests.support import FIXTURES, manifest

Mail = tuple[str, bool, bytes]  # Message-ID, from a citizen, raw bytes
QUARANTINE_EXPECTED = ("broken-boundary", "bad-base64", "no-sender", "unreadable-headers")


def mails(citizens: int, automatic: int, seed: int = 7) -> list[Mail]:
    """Citizen mails with their own senders and automatic ones, all with
    distinct Message-IDs, shuffled."""
    entries = manifest()
    people = [e for e in entries if e["expect"] == "case" and e["sender"]]
    machines = [e for e in entries if e["expect"] == "ignored"]
    out = []
    for i in range(citizens):
        e = people[i % len(people)]
        mid = f"<chaos-c{i}@example.se>"
        raw = (FIXTURES / e["file"]).read_bytes().replace(
            e["sender"].encode(), f"invanare{i}@example.se".encode())
        out.append((mid, True, _with_id(raw, mid)))
    for i in range(automatic):
        e = machines[i % len(machines)]
        mid = f"<chaos-a{i}@example.net>"
        out.append((mid, False, _with_id((FIXTURES / e["file"]).read_bytes(), mid)))
    random.Random(seed).shuffle(out)
    return out


def _with_id(raw: bytes, mid: str) -> bytes:
    raw, n = re.subn(rb"(?im)^Message-ID:[^\n]*", f"Message-ID: {mid}".encode(), raw, count=1)
    return raw if n else f"Message-ID: {mid}\n".encode() + raw


def feed(stack: Stack, items: list[Mail], done: threading.Event, pause: float = 0.03) -> None:
    """APPEND every mail, retrying while Dovecot restarts."""
    for _mid, _citizen, raw in items:
        for _ in range(200):
            try:
                stack.dovecot.append(USER, PASSWORD, raw)
                break
            except Exception:
                time.sleep(0.1)
        time.sleep(pause)
    done.set()


def run(stack: Stack, redis: RedisServer, items: list[Mail], rng: random.Random,
        rounds: int, pause: float = 0.03) -> Counter[str]:
    """Start the processes, feed ``items`` and do ``rounds`` rounds of faults;
    returns what was done. A quarter, half and three quarters of the way
    through come the Dovecot crash, Redis stopping and the SMTP 451s; near
    the end a graceful Dovecot restart."""
    listener = stack.start("listener")
    workers = [stack.start("worker", "--threads", "4") for _ in range(2)]
    stack.start("scheduler")
    fed = threading.Event()
    threading.Thread(target=feed, args=(stack, items, fed, pause), daemon=True).start()
    special = {rounds // 4: "dovecot", rounds // 2: "redis", 3 * rounds // 4: "smtp",
               rounds - 3: "restart"}
    faults = Counter[str]()
    for round_no in range(rounds):
        time.sleep(rng.uniform(0.2, 1.2))
        fault = special.get(round_no)
        if fault == "dovecot":  # a crash: no BYE, the listener's socket just ends
            stack.dovecot.kill9()
            time.sleep(rng.uniform(0.5, 2))
            stack.dovecot.start()
            faults["dovecot kill -9"] += 1
        elif fault == "restart":
            stack.dovecot.restart()
            faults["dovecot restart"] += 1
        elif fault == "redis":
            redis.stop()
            time.sleep(10)
            redis.start()
            faults["redis stopped 10 s"] += 1
        elif fault == "smtp":
            stack.sink.set_reply(451)
            time.sleep(3)
            stack.sink.set_reply(None)
            faults["smtp 451 for 3 s"] += 1
        elif rng.random() < 0.4:
            listener = stack.kill9_and_restart(listener)
            faults["listener kill -9"] += 1
        else:
            i = rng.randrange(len(workers))
            workers[i] = stack.kill9_and_restart(workers[i])
            faults["worker kill -9"] += 1
    if not fed.wait(600):
        raise AssertionError("the feeder did not finish")
    return faults


@dataclass(frozen=True, slots=True)
class Outcome:
    mails: int
    lost: int  # mails without an inbound row
    unprocessed: int  # inbound rows still waiting
    unexpected_quarantine: int
    cases: int
    duplicate_cases: int  # citizen mails with more than one case, or a case of a machine's mail
    receipts: int  # at the sink
    citizens_receipted_twice: int
    notices_twice: int
    sent: int
    uncertain: int
    without_receipt: int  # cases whose receipt neither went out nor is uncertain


def settle(stack: Stack, items: list[Mail], timeout: float) -> None:
    """Wait until every mail is stored and processed and the outbox is quiet."""
    mids = {mid for mid, _c, _r in items}

    def settled() -> bool:
        with stack.engine.connect() as conn:
            stored = set(conn.execute(select(Inbound.message_id)).scalars())
            waiting = conn.execute(select(func.count()).where(
                Inbound.status == InboundStatus.RECEIVED)).scalar_one()
            busy = conn.execute(select(func.count()).where(Outbox.status.in_(
                [OutboxStatus.PENDING, OutboxStatus.SENDING]))).scalar_one()
        return mids <= stored and waiting == 0 and busy == 0

    wait_until(settled, timeout, stack, f"all {len(items)} mails settled after the chaos")


def outcome(stack: Stack, items: list[Mail]) -> Outcome:
    mids = {mid for mid, _c, _r in items}
    citizen_mids = {mid for mid, c, _r in items if c}
    with stack.engine.connect() as conn:
        inbound = conn.execute(select(Inbound.message_id, Inbound.status, Inbound.reason)).all()
        cases = Counter(conn.execute(select(Case.message_id)).scalars().all())
        receipt_rows = Counter(conn.execute(select(Outbox.status).where(
            Outbox.kind == "mottagningsbevis")).scalars().all())
    delivered = [email.message_from_bytes(m, policy=email.policy.default)
                 for m in stack.sink.messages()]
    receipts = Counter(str(m["To"]) for m in delivered if m["Auto-Submitted"] == "auto-replied")
    notices = Counter((str(m["To"]), str(m["Subject"])) for m in delivered
                      if m["Auto-Submitted"] == "auto-generated")
    sent, uncertain = receipt_rows[OutboxStatus.SENT], receipt_rows[OutboxStatus.UNCERTAIN]
    return Outcome(
        mails=len(items),
        lost=len(mids - {m for m, _s, _r in inbound}),
        unprocessed=sum(1 for _m, s, _r in inbound if s == InboundStatus.RECEIVED),
        unexpected_quarantine=sum(
            1 for _m, s, r in inbound if s == InboundStatus.QUARANTINED
            and (r or "").split(":")[0] not in QUARANTINE_EXPECTED),
        cases=sum(cases.values()),
        duplicate_cases=sum(n - 1 for n in cases.values() if n > 1)
        + sum(cases[m] for m in set(cases) - citizen_mids),
        receipts=sum(receipts.values()),
        citizens_receipted_twice=sum(1 for n in receipts.values() if n > 1),
        notices_twice=sum(1 for n in notices.values() if n > 1),
        sent=sent, uncertain=uncertain,
        without_receipt=sum(cases.values()) - sent - uncertain,
    )
