"""How long gallring takes, and how long it holds a transaction open, on
PostgreSQL with a register of closed cases.

    .venv/bin/python benchmarks/gallring.py [--cases 2000] [--url postgresql+psycopg://...] [--json]

Creates a fresh database on the server (default: the local one the tests
use), fills it with ``--cases`` closed cases three years old (contact, a
20 KB mail, a receipt and a notice, six events with notes each) plus as
many ignored automatic mails, runs gallring once and again, and reports the
wall time and the longest and 99th-percentile transaction: the longest time
a worker could wait on a lock gallring holds. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from cases.db import make_engine, make_sessions  # noqa: E402
from cases.gallring import gallra  # noqa: E402
from cases.migrate import upgrade  # noqa: E402
from cases.models import Case, Contact, Event, Inbound, Outbox  # noqa: E402
from config.organisation import Gallring  # noqa: E402
from tests.harness.postgres import scratch_database  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fill(sessions: Any, n: int, long_ago: datetime) -> None:
    body = ("Hej! Jag heter Anna Exempel och bor på Exempelvägen 1. " * 360).encode()
    for start in range(0, n, 500):
        with sessions.begin() as session:
            for i in range(start, min(n, start + 500)):
                case = Case(diarienummer=f"BENCH 2023/{i + 1:05d}", year=2023, number=i + 1,
                            channel="email", subject="Ämne med namn", text=body.decode(),
                            enhet="registrator", routine="standard", status="closed",
                            received_at=long_ago, registered_at=long_ago,
                            explanation="avsändaren anna@example.se matchar")
                session.add(case)
                session.flush()
                session.add(Contact(case_id=case.id, name="Anna Exempel",
                                    email=f"anna{i}@example.se"))
                session.add(Inbound(source="bench", source_key=f"c{i}", raw=body, sha256="0" * 64,
                                    received_at=long_ago, status="processed", case_id=case.id))
                session.add(Inbound(source="bench", source_key=f"a{i}", raw=body, sha256="1" * 64,
                                    received_at=long_ago, status="ignored",
                                    reason="auto-submitted: frånvaro"))
                for kind in ("mottagningsbevis", "underrattelse"):
                    session.add(Outbox(dedupe_key=f"{kind}:{i}", kind=kind, case_id=case.id,
                                       recipient=f"anna{i}@example.se", subject="Ämne",
                                       body=body, status="sent", created_at=long_ago,
                                       next_attempt_at=long_ago))
                for kind in ("case.registered", "case.note", "case.note", "case.delay_reason",
                             "case.feedback_given", "case.closed"):
                    session.add(Event(at=long_ago, actor="user:x", kind=kind, case_id=case.id,
                                      detail={"note": "Ringde Anna", "reason": "Anna är sjuk",
                                              "enhet": "registrator"}))


def measure(url: str, n: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessions(engine)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    fill(sessions, n, now - timedelta(days=3 * 365))
    filled = time.perf_counter() - t0
    spans: list[float] = []
    opened: dict[int, float] = {}
    event.listen(engine, "begin", lambda conn: opened.__setitem__(id(conn), time.perf_counter()))
    for name in ("commit", "rollback"):
        event.listen(engine, name, lambda conn: spans.append(
            time.perf_counter() - opened.pop(id(conn), time.perf_counter())))
    policy = Gallring.model_validate({"ärenden_månader_efter_avslut": 24})
    t0 = time.perf_counter()
    report = gallra(sessions, policy, now)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = gallra(sessions, policy, now)
    second = time.perf_counter() - t0
    spans.sort()
    engine.dispose()
    return {
        "cases": n, "fill_seconds": round(filled, 1),
        "gallring_seconds": round(first, 2), "cases_per_second": round(n / first, 1),
        "cleared_cases": len(report.cases), "cleared_automatic": report.automatic,
        "second_run_seconds": round(second, 2),
        "second_run_cleared": len(again.cases) + again.automatic,
        "transactions": len(spans),
        "longest_transaction_ms": round(spans[-1] * 1000, 1) if spans else None,
        "p99_transaction_ms": round(spans[int(len(spans) * 0.99)] * 1000, 1) if spans else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="closed cases to create")
    parser.add_argument("--url", default=DEFAULT_PG,
                        help="a PostgreSQL server; a fresh database is made on it")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    with scratch_database(args.url, "synpunkt_bench_gallring") as url:
        result = measure(url, args.cases)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
