"""End to end in the embedded mode, through the real `synpunkt` command:
40 mails in the Maildir -> `run --once` -> cases, receipts, ignored, quarantined."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cases.models import Outbox
from classify.corpus import organisation
from classify.sensitive import find, identity_numbers
from config.settings import Settings
from deadlines.calendar import STOCKHOLM
from notify.digest import next_digest_day
from service.app import build_app
from service.reminders import send_digests
from tests.support import FIXTURES, manifest, run_cli, synpunkt_cmd
from tests.support import run_cli as _run_cli

YEAR = datetime.now(ZoneInfo("Europe/Stockholm")).year


def _drop(home: Path, name: str, raw: bytes) -> None:
    (home / "inbox" / "tmp" / name).write_bytes(raw)
    (home / "inbox" / "tmp" / name).rename(home / "inbox" / "new" / name)


def _drop_fixtures(home: Path) -> None:
    for entry in manifest():
        raw = (FIXTURES / entry["file"]).read_bytes()
        if entry["expect"] == "reply":  # refer to this year's series, whatever the year
            raw = raw.replace(b"EKBY 2026/0001", f"EKBY {YEAR}/0001".encode())
        _drop(home, entry["file"].removesuffix(".eml"), raw)


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _outbox(home: Path) -> list[email.message.EmailMessage]:
    mails = []
    for path in sorted((home / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        mails.append(msg)
    return mails


def _receipts(home: Path) -> list[email.message.EmailMessage]:
    """The mottagningsbevis in the outbox (not the notices to the chefs)."""
    return [m for m in _outbox(home) if m["Auto-Submitted"] == "auto-replied"]


def _next_morning_digests(home: Path, env: dict[str, str]) -> dict[str, str]:
    """The digests the scheduler would queue at the next digest hour, by
    recipient, as the project's own morning job makes them."""
    app = build_app(Settings(home=home, database_url=env.get("SYNPUNKT_DATABASE_URL")))
    day = next_digest_day(datetime.now(UTC))
    send_digests(app, datetime.combine(day, clock_time(8, 30), tzinfo=STOCKHOLM))
    with app.sessions() as session:
        rows = session.scalars(select(Outbox).where(Outbox.kind == "sammanstallning")).all()
        mails = [email.message_from_bytes(r.body, policy=email.policy.default) for r in rows]
    app.engine.dispose()
    return {str(m["To"]): m.get_content().replace("\r\n", "\n") for m in mails
            if isinstance(m, email.message.EmailMessage)}


def _state(home: Path, env: dict[str, str]) -> tuple[str, str, list[str]]:
    cases = _run_cli("cases", "list", "--json", home=home, env=env).stdout
    inbound = _run_cli("inbound", "list", "--json", home=home, env=env).stdout
    return cases, inbound, sorted(p.name for p in (home / "outbox").glob("*"))


def test_forty_mails_end_to_end(home: Path) -> None:
    _forty_mails(home, {})


@pytest.mark.postgres
def test_forty_mails_end_to_end_on_postgresql(home: Path, postgres_url: str) -> None:
    env = {"SYNPUNKT_DATABASE_URL": postgres_url}
    refused = run_cli("cases", "list", home=home, env=env, check=False)
    assert refused.returncode != 0
    assert "synpunkt db upgrade" in refused.stderr
    run_cli("db", "upgrade", home=home, env=env)
    _forty_mails(home, env)
    assert not (home / "synpunkt.sqlite3").exists()


def _forty_mails(home: Path, env: dict[str, str]) -> None:
    def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
        return _run_cli(*args, home=home, env=env)

    _drop_fixtures(home)
    summary = json.loads(run_cli("run", "--once", "--json", home=home).stdout)
    entries = manifest()
    expect = {e["file"].removesuffix(".eml"): e for e in entries}
    n_cases = sum(1 for e in entries if e["expect"] == "case")
    assert summary["stored"] == 40
    assert summary["cases"] == n_cases
    assert summary["replies"] == 1

    inbound = _json_lines(run_cli("inbound", "list", "--json", home=home).stdout)
    assert len(inbound) == 40
    for row in inbound:
        assert set(row) >= {"id", "source", "status", "reason", "case_id"}
        entry = expect[row["source_key"]]
        want = {"case": "processed", "reply": "processed", "ignored": "ignored",
                "quarantined": "quarantined"}[entry["expect"]]
        assert row["status"] == want, (entry["file"], row)
        if want in ("ignored", "quarantined"):
            assert row["reason"].startswith(entry["reason"] + ":"), (entry["file"], row)
            assert row["case_id"] is None
        else:
            assert row["case_id"] is not None

    cases = _json_lines(run_cli("cases", "list", "--json", home=home).stdout)
    assert len(cases) == n_cases
    numbers = [c["diarienummer"] for c in cases]
    assert numbers == [f"EKBY {YEAR}/{n:04d}" for n in range(1, n_cases + 1)]
    enheter = {e.id for _, _, e in organisation().enheter()}
    for case in cases:
        assert set(case) >= {"id", "diarienummer", "channel", "sender", "subject", "category",
                             "enhet", "extern", "flags", "status", "needs_review", "received_at"}
        assert case["category"] in ("klagomal", "synpunkt", "berom")  # the classifier ran
        assert case["enhet"] in enheter
        # What no rule can place goes to the registrator, always for review.
        if case["enhet"] == "registrator":
            assert case["needs_review"]

    # Every citizen has exactly one receipt, naming the right diarienummer.
    mails = _outbox(home)
    receipts = [m for m in mails if m["Auto-Submitted"] == "auto-replied"]
    notices = [m for m in mails if m["Auto-Submitted"] == "auto-generated"]
    assert len(receipts) + len(notices) == len(mails)
    # (a mail without a sender is registered, with nobody to send a receipt to)
    assert len(receipts) == sum(1 for e in entries if e["expect"] == "case" and e["sender"])
    for case in (c for c in cases if c["sender"]):
        theirs = [m for m in receipts if m["To"] == case["sender"]]
        assert len(theirs) == 1, case["sender"]
        assert f"[{case['diarienummer']}]" in theirs[0]["Subject"]
        assert case["diarienummer"] in theirs[0].get_content()
    # The chef of every enhet a case went to gets it once: a notice at once, or (a
    # routine's `till_chefen: sammanställning`) in the next morning's digest; no
    # personnummer in a notice.
    org = organisation()
    digests = _next_morning_digests(home, env)
    ways = set()
    for case in cases:
        if case["enhet"] == "registrator":
            continue
        chef = next(e.chef.epost for _, _, e in org.enheter() if e.id == case["enhet"])
        theirs = [m for m in notices if m["To"] == chef and case["diarienummer"] in m["Subject"]]
        handed = f"{case['diarienummer']} (" in digests.get(chef, "").partition(
            "Nya ärenden till dig att handlägga:")[2].partition("\n\n")[0]
        assert len(theirs) + handed == 1, (case["diarienummer"], case["enhet"])
        ways.add("digest" if handed else "notice")
    assert ways == {"digest", "notice"}, "the fixtures go both ways"
    for notice in notices:
        assert not identity_numbers(find(notice.get_content())), notice["Subject"]
    ignored_senders = {e["sender"] for e in entries if e["expect"] in ("ignored", "quarantined")}
    assert not ignored_senders & {m["To"] for m in mails}

    # The reply was threaded into case 0001 as an event, with no new case or receipt.
    first = json.loads(run_cli("cases", "show", str(cases[0]["id"]), "--json", home=home).stdout)
    assert "case.reply_received" in [e["kind"] for e in first["events"]]
    assert len(first["inbound"]) == 2
    assert first["contact"]["email"] == first["sender"]

    # Quarantined mail keeps its exact bytes (the database holds them; check one).
    quarantined = [r for r in inbound if r["status"] == "quarantined"]
    assert len(quarantined) == sum(1 for e in entries if e["expect"] == "quarantined")
    sizes = {r["source_key"]: r["size"] for r in quarantined}
    for key, size in sizes.items():
        assert size == len((FIXTURES / f"{key}.eml").read_bytes())

    # Everything was moved out of new/ into Behandlad.
    assert not list((home / "inbox" / "new").iterdir())
    assert len(list((home / "inbox" / ".Behandlad" / "cur").iterdir())) == 40

    # Running again changes nothing.
    before = _state(home, env)
    again = json.loads(run_cli("run", "--once", "--json", home=home).stdout)
    assert again["stored"] == 0
    assert again["processed"] == 0
    assert again["delivered"] == 0
    assert _state(home, env) == before


def test_reply_to_our_receipt_threads_by_in_reply_to(home: Path) -> None:
    _drop(home, "a", (FIXTURES / "03_sophamtning_uteblir.eml").read_bytes())
    run_cli("run", "--once", home=home)
    receipt = _receipts(home)[0]
    reply = (
        f"From: Ahmed Yusuf <ahmed.yusuf@telia.example>\nTo: synpunkter@ekby.example\n"
        f"Subject: Re: hej\nMessage-ID: <r1@telia.example>\nIn-Reply-To: {receipt['Message-ID']}\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0100\n\nKärlet står kvar.\n"
    ).encode()
    _drop(home, "b", reply)
    summary = json.loads(run_cli("run", "--once", "--json", home=home).stdout)
    assert summary["replies"] == 1
    assert summary["cases"] == 0
    assert len(_receipts(home)) == 1


def test_at_most_three_receipts_per_sender_per_day(home: Path) -> None:
    template = (FIXTURES / "09_bibliotek_oppettider.eml").read_bytes()
    for i in range(5):
        raw = template.replace(b"Message-ID: <", f"Message-ID: <n{i}.".encode(), 1)
        _drop(home, f"m{i}", raw)
    summary = json.loads(run_cli("run", "--once", "--json", home=home).stdout)
    assert summary["cases"] == 5
    assert len(_receipts(home)) == 3
    last = _json_lines(run_cli("cases", "list", "--json", home=home).stdout)[-1]
    shown = json.loads(run_cli("cases", "show", str(last["id"]), "--json", home=home).stdout)
    assert "mottagningsbevis.suppressed" in [e["kind"] for e in shown["events"]]
    assert [o for o in shown["outbox"] if o["kind"] == "mottagningsbevis"] == []


def test_stored_but_not_moved_is_not_stored_twice(home: Path) -> None:
    """A crash after the commit but before the move: the file is found again."""
    raw = (FIXTURES / "01_hemtjanst_kom_inte.eml").read_bytes()
    _drop(home, "k1", raw)
    run_cli("run", "--once", home=home)
    moved = next((home / "inbox" / ".Behandlad" / "cur").iterdir())
    shutil.move(moved, home / "inbox" / "new" / "k1")  # as if the move never happened
    summary = json.loads(run_cli("run", "--once", "--json", home=home).stdout)
    assert summary["stored"] == 0
    assert len(_receipts(home)) == 1
    _drop(home, "k2", raw)  # same bytes under a new key: kept, but as a duplicate
    run_cli("run", "--once", home=home)
    dupes = _json_lines(run_cli("inbound", "list", "--status", "ignored", "--json",
                                home=home).stdout)
    assert [d["reason"].split(":")[0] for d in dupes] == ["duplicate"]
    assert len(_json_lines(run_cli("cases", "list", "--json", home=home).stdout)) == 1


def test_run_keeps_going_until_sigterm(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    env |= {"SYNPUNKT_HOME": str(home), "SYNPUNKT_POLL_SECONDS": "0.2"}
    proc = subprocess.Popen([synpunkt_cmd(), "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _drop(home, "live1", (FIXTURES / "01_hemtjanst_kom_inte.eml").read_bytes())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _receipts(home):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        assert len(_receipts(home)) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "case registered inbound_id=1 case_id=1" in err
    assert "Birgitta" not in err  # logs carry ids, not names or text
