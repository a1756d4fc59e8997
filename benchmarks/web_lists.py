"""How fast the web lists answer with a large register in PostgreSQL.

    .venv/bin/python benchmarks/web_lists.py [--cases 20000] [--requests 30] \
        [--url postgresql+psycopg://...] [--json]

Creates a fresh database on the server (default: the local one the tests
use; SYNPUNKT_TEST_POSTGRES_URL), fills it with ``--cases`` realistic cases
in bulk (a year and a half of mail, SMS and forms over every enhet of the
shipped Ekby configuration: contacts, one or two deadlines each, closed,
answered and open ones, some to review, a few akut or possible serious
incidents), then asks the real ASGI application (FastAPI's TestClient, the
whole stack: session cookie, database, templates) for each list page
``--requests`` times, logged in as the registrator or a chef, and prints
p50/p95 per page. The target is 300 ms p95 for every page. The database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from cases.migrate import upgrade  # noqa: E402
from cases.models import Case, Contact, Deadline, User  # noqa: E402
from config.settings import Settings  # noqa: E402
from review.app import create_app  # noqa: E402
from review.passwords import hash_password  # noqa: E402
from service.app import App, build_app  # noqa: E402
from tests.harness.postgres import scratch_database  # noqa: E402

DEFAULT_PG = os.environ.get("SYNPUNKT_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "ett långt lösenord för mätningen"  # noqa: S105 - a scratch database's user
REGISTRATOR, CHEF = "registrator@ekby.example", "chef.norr@ekby.example"
CHEF_ENHET = "hemtjanst_norr"
TARGET_MS = 300
SURNAMES = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
            "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindqvist", "Berg"]
FIRST = ["Anna", "Erik", "Maria", "Lars", "Karin", "Per", "Eva", "Johan", "Sara", "Ali",
         "Fatima", "Mehmet", "Linnéa", "Olle"]
TOPICS = [
    ("Hemtjänsten kom inte", "Hemtjänsten kom inte i morse till min mamma på {street}. "
     "Hon väntade hela förmiddagen utan mat och medicin. Det här har hänt tre gånger nu."),
    ("Gatlampa trasig", "Gatlampan vid {street} har varit släckt i två veckor. Det är mörkt "
     "och barnen går till skolan där varje morgon."),
    ("Tack till personalen", "Jag vill tacka personalen på {street} för ett fantastiskt "
     "bemötande när min pappa flyttade in. Ni gör ett viktigt arbete."),
    ("Snöröjning", "Det är inte plogat på {street} trots att det snöade i fredags. Vi som "
     "bor här kommer inte ut med bilen och färdtjänsten kan inte hämta."),
    ("Skolskjutsen", "Skolskjutsen till Ekbyskolan var en timme sen i dag igen. Mitt barn "
     "stod ute i kylan vid {street}."),
    ("Bygglov tar tid", "Vi sökte bygglov för ett garage på {street} för fyra månader sedan "
     "och har inte fått något svar. Hur lång tid ska det ta?"),
    ("Förslag om lekplats", "Det skulle behövas en lekplats vid {street}. Många barnfamiljer "
     "har flyttat hit de senaste åren."),
    ("Fel i fakturan", "Fakturan för hemtjänsten i november är för hög, ni har räknat fler "
     "timmar än vi fått. Jag bor på {street}."),
]
STREETS = ["Ekvägen 4", "Storgatan 12", "Björkallén 7", "Skolgatan 3", "Lövstavägen 19",
           "Kvarnbacken 2", "Solgårdsvägen 8"]


def fill(app: App, n: int, now: datetime, seed: int = 24) -> None:
    """``n`` cases in bulk: explicit ids, one INSERT … VALUES list per table and batch."""
    rnd = random.Random(seed)
    enheter = [e.id for _, _, e in app.kommun.organisation.enheter() if e.id != "registrator"]
    weights = [8 if e.startswith("hemtjanst") or e in ("gata_park", "forskola") else 1
               for e in enheter]
    routines = list(app.kommun.routines.profiler)
    start = now - timedelta(days=540)
    cases: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    deadlines: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        received = start + timedelta(seconds=rnd.uniform(0, 540 * 86400))
        age = (now - received).days
        review = rnd.random() < (0.5 if age < 7 else 0.02)
        roll = rnd.random()
        status = ("open" if age < 30 or roll < 0.05 else
                  "feedback_given" if roll < 0.2 else "closed")
        subject, body = rnd.choice(TOPICS)
        name = f"{rnd.choice(FIRST)} {rnd.choice(SURNAMES)}"
        flags = [f for f, p in (("felanmalan", 0.08), ("allvarlig_handelse", 0.01),
                                ("extern", 0.02), ("medborgarforslag", 0.03)) if rnd.random() < p]
        enhet = "registrator" if review and rnd.random() < 0.3 else rnd.choices(enheter,
                                                                               weights)[0]
        cases.append({
            "id": i, "diarienummer": f"EKBY {received.year}/{i:05d}", "year": received.year,
            "number": i, "channel": rnd.choices(["email", "sms", "webform", "brev", "telefon"],
                                                [70, 15, 10, 3, 2])[0],
            "subject": subject, "text": body.format(street=rnd.choice(STREETS))
            + f"\n\nMed vänlig hälsning\n{name}",
            "message_id": f"<{i}.bench@example.se>",
            "category": rnd.choices(["klagomal", "synpunkt", "berom", None], [60, 25, 12, 3])[0],
            "enhet": enhet, "extern": "forsakringskassan" if "extern" in flags else None,
            "flags": flags, "aspects": [], "confidence": round(rnd.uniform(0.3, 0.99), 2),
            "needs_review": review, "rule": "bench", "explanation": "Regel bench.",
            "rules_version": "rules:bench", "restricted": rnd.random() < 0.01,
            "priority": rnd.choices(["normal", "hög", "akut"], [93, 5, 2])[0],
            "model_version": "bench", "language": "sv", "routine": rnd.choice(routines),
            "status": status, "received_at": received, "registered_at": received,
            "inbound_id": None})
        if rnd.random() < 0.85:
            first, last = name.split(" ", 1)
            contacts.append({"case_id": i, "name": name, "address": None,
                             "email": f"{first.lower()}.{last.lower()}{i}@example.se",
                             "phone": f"+4670{rnd.randrange(10**7):07d}"})
            for kind, days in (("forsta_aterkoppling", 7), ("aterkoppling", 30)):
                due = (received + timedelta(days=days)).date()
                met = status != "open" or (kind == "forsta_aterkoppling" and rnd.random() < .7)
                deadlines.append({"case_id": i, "kind": kind, "due": due,
                                  "description": "återkoppling", "promised": True,
                                  "met_at": received + timedelta(days=days - 2) if met else None})
    with app.engine.begin() as conn:
        for table, rows in ((Case, cases), (Contact, contacts), (Deadline, deadlines)):
            for at in range(0, len(rows), 2000):
                conn.execute(insert(table), rows[at:at + 2000])
        conn.execute(text("select setval(pg_get_serial_sequence('\"case\"', 'id'), :n)"),
                     {"n": n})
        users: list[tuple[str, str, str | None]] = [(REGISTRATOR, "registrator", None),
                                                     (CHEF, "chef", CHEF_ENHET)]
        conn.execute(insert(User), [{
            "email": email, "role": role, "enhet": enhet, "active": True,
            "password_hash": hash_password(PASSWORD), "created_at": now}
            for email, role, enhet in users])
    # A register in use has been vacuumed: the GIN indexes' pending lists
    # flushed and the statistics current (autovacuum does it in production).
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("vacuum analyze"))


def login(web: Any, email: str) -> TestClient:
    client = TestClient(web, base_url="http://testserver")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                         "csrf": token.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def pages() -> list[tuple[str, str, str]]:
    """(name, who, path) of each page measured."""
    return [
        ("inkorg", REGISTRATOR, "/inkorg"),
        ("arenden", REGISTRATOR, "/arenden"),
        ("arenden sida 150", REGISTRATOR, "/arenden?sida=150"),
        ("enhet (chef)", CHEF, "/enhet"),
        ("sök text", REGISTRATOR, "/arenden?q=plogat"),
        ("sök avsändare", REGISTRATOR, "/arenden?q=lindqvist"),
        ("filtrerad lista", REGISTRATOR,
         "/arenden?status=open&enhet=hemtjanst_soder&category=klagomal&sort=deadline"),
        ("försenade, brådskande", REGISTRATOR, "/arenden?overdue=1&sort=urgency"),
    ]


def measure(url: str, n: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        app = build_app(Settings(home=Path(home), database_url=url))
        upgrade(app.engine)
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        fill(app, n, now)
        filled = time.perf_counter() - t0
        web = create_app(app, lambda _i: None)
        clients = {who: login(web, who) for who in (REGISTRATOR, CHEF)}
        results: list[dict[str, Any]] = []
        for name, who, path in pages():
            client = clients[who]
            for _ in range(3):  # warm: templates compiled, plans cached
                assert client.get(path).status_code == 200, path
            times = []
            for _ in range(requests):
                t = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            total = re.search(r"(\d+) ärenden?\b", answer.text)
            times.sort()
            results.append({
                "page": name, "path": path, "rows": int(total.group(1)) if total else None,
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[math.ceil(len(times) * 0.95) - 1], 1),  # nearest rank
                "kib": round(len(answer.content) / 1024, 1)})
        exports = []
        for kind in ("csv", "xlsx"):  # every case in one file: seconds, not in the target
            spent = []
            for _ in range(3):
                t = time.perf_counter()
                answer = clients[REGISTRATOR].get(f"/arenden.{kind}")
                spent.append(time.perf_counter() - t)
                assert answer.status_code == 200, kind
            exports.append({"export": f"/arenden.{kind}", "rows": n,
                            "median_s": round(statistics.median(spent), 2),
                            "kib": round(len(answer.content) / 1024)})
        app.engine.dispose()
    return {"cases": n, "requests_per_page": requests, "fill_seconds": round(filled, 1),
            "target_p95_ms": TARGET_MS, "pages": results, "exports": exports,
            "all_within_target": all(r["p95_ms"] <= TARGET_MS for r in results),
            "today": date.today().isoformat()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=30, help="requests per page")
    parser.add_argument("--url", default=DEFAULT_PG,
                        help="a PostgreSQL server; a fresh database is made on it")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    with scratch_database(args.url, "synpunkt_bench_lists") as url:
        result = measure(url, args.cases, args.requests)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['cases']} cases (filled in {result['fill_seconds']} s), "
              f"{result['requests_per_page']} requests per page, target p95 ≤ {TARGET_MS} ms")
        print(f"{'page':<24} {'rows':>6} {'p50 ms':>8} {'p95 ms':>8} {'KiB':>6}")
        for r in result["pages"]:
            print(f"{r['page']:<24} {r['rows'] if r['rows'] is not None else '':>6} "
                  f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['kib']:>6}")
        for e in result["exports"]:
            print(f"export {e['export']}: {e['rows']} cases in {e['median_s']} s "
                  f"(median of 3), {e['kib']} KiB")
        print("all within target" if result["all_within_target"] else "OVER TARGET")
    return 0 if result["all_within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
