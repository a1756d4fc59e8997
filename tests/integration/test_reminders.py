"""A simulated month of reminders with a pinned clock: who got a digest and
when; none at night, on a weekend or a holiday; none twice after a restart;
none after återkoppling; an overdue case reaches the sektorchef."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from cases.inbound import store_raw
from cases.lifecycle import record_delay_reason, record_feedback
from cases.migrate import upgrade
from cases.models import Outbox
from cases.sms import store_sms
from classify.triage import Category, Triage
from config.settings import SHIPPED_CONFIG, Settings
from deadlines.calendar import is_working_day
from ingest.sms.record import SmsRecord
from service.app import App, build_app
from service.pipeline import process_inbound
from service.reminders import MorningJobs, send_delay_notices, send_digests
from tests.support import FixedClassifier, run_cli

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CHEF, SEKTORCHEF = "lars.oberg@ekby.example", "maria.berg@ekby.example"


def _app(tmp_path: Path, at: datetime) -> App:
    app = build_app(Settings(home=tmp_path / "home"))
    upgrade(app.engine)
    triage = Triage(category=Category.KLAGOMAL, confidence=0.9, needs_review=False)
    return replace(app, classifier=FixedClassifier(triage), clock=lambda: at)


def _register(app: App, key: str, text: str) -> int:
    raw = (f"From: Anna <anna.{key}@example.se>\nTo: synpunkter@ekby.example\n"
           f"Subject: Hemtjänsten\nMessage-ID: <{key}@example.se>\n\n{text}\n").encode()
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
    outcome = process_inbound(app, inbound)
    assert outcome.case_id is not None
    return outcome.case_id


def _digests(app: App) -> list[tuple[str, datetime, email.message.EmailMessage]]:
    with app.sessions() as session:
        rows = session.scalars(select(Outbox).where(Outbox.kind == "sammanstallning")
                               .order_by(Outbox.id)).all()
        out = []
        for row in rows:
            msg = email.message_from_bytes(row.body, policy=email.policy.default)
            assert isinstance(msg, email.message.EmailMessage)
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(
                tzinfo=ZoneInfo("UTC"))
            out.append((row.recipient, created.astimezone(STOCKHOLM), msg))
    return out


def test_a_month_of_digests(tmp_path: Path) -> None:
    received = datetime(2026, 12, 14, 10, 0, tzinfo=STOCKHOLM)  # a Monday
    app = _app(tmp_path, received)
    first = _register(app, "a", "Hemtjänsten i Lövsta kommer för sent varje morgon.")
    second = _register(app, "b", "Hemtjänsten i Norrby glömde handla till pappa.")

    now = received
    end = datetime(2027, 1, 22, 0, 0, tzinfo=STOCKHOLM)
    while now < end:
        send_digests(app, now)
        send_digests(app, now)  # a second scheduler, or a restart: nothing twice
        if now == datetime(2027, 1, 12, 9, 0, tzinfo=STOCKHOLM):
            with app.sessions.begin() as session:
                record_feedback(session, second, "Ringde dottern och förklarade.", "test", now)
        now += timedelta(hours=1)

    digests = _digests(app)
    assert digests, "no digest at all"
    days: dict[str, list[str]] = {}
    for recipient, at, msg in digests:
        assert is_working_day(at.date()) and at.hour >= 8, (recipient, at)  # never night/holiday
        assert msg["Auto-Submitted"] == "auto-generated"
        days.setdefault(recipient, []).append(at.date().isoformat())
    for recipient, seen in days.items():
        assert len(seen) == len(set(seen)), f"{recipient} got two digests on one day"

    # Received 14 December: återkoppling within 30 dagar is due 13 January 2027.
    # The chef gets both cases the next morning to handle (`till_chefen`), then
    # is reminded two arbetsdagar before (11 January, after the holidays),
    # every working morning until it is done.
    assert days[CHEF][:2] == ["2026-12-15", "2027-01-11"]
    assert "2027-01-13" in days[CHEF]
    handed = next(msg for r, _at, msg in digests if r == CHEF)
    assert handed["Subject"] == "Synpunkt: 2 nya ärenden till dig"
    assert "Nya ärenden till dig att handlägga:" in handed.get_content()
    assert all(f"första frist onsdag 13 januari 2027 [synpunkt cases show {n}]"
               in handed.get_content() for n in (first, second))
    # Söderköping's "Sektorchef informeras": both new klagomål in the sektorchef's
    # digest the next morning, for kännedom, and in no later one as new. Overdue
    # from 14 January: the sektorchef is included from then on.
    assert set(days[SEKTORCHEF]) == {"2026-12-15", "2027-01-14", "2027-01-15", "2027-01-18",
                                     "2027-01-19", "2027-01-20", "2027-01-21"}
    told = [msg for r, at, msg in digests if r == SEKTORCHEF]
    assert "2 nya ärenden för kännedom" in told[0].get_content()
    assert all(f"cases show {n}" in told[0].get_content() for n in (first, second))
    assert told[0]["Subject"] == "Synpunkt: 2 nya ärenden för kännedom"
    assert all("för kännedom" not in msg.get_content() for msg in told[1:])
    # The case that had its återkoppling on 12 January is not in any later digest.
    later = [msg.get_content() for _r, at, msg in digests if at.date().isoformat() > "2027-01-12"]
    numbers = {r: msg.get_content() for r, _at, msg in digests}
    assert later and all(f"cases show {second}" not in text for text in later)
    assert all(f"cases show {first}" in text for text in later)
    assert "Tidsfristen har passerat i en enhet under dig" in numbers[SEKTORCHEF]


def test_new_cases_for_kannedom_are_listed_once_and_caught_up_after_a_lost_morning(
        tmp_path: Path) -> None:
    """The sektorchef reads of new klagomål in the digest (Söderköping's
    "Sektorchef informeras"), never twice; a case registered after the
    digest hour waits for the next morning; a morning the job did not run
    (the server down all day) is caught up the morning after."""
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=STOCKHOLM)
    app = _app(tmp_path, monday)
    first = _register(app, "k1", "Hemtjänsten i Lövsta kom inte i går.")
    tuesday_early = datetime(2026, 3, 3, 7, 30, tzinfo=STOCKHOLM)
    late = _register(replace(app, clock=lambda: tuesday_early.replace(hour=8, minute=5)),
                     "k2", "Hemtjänsten i Lövsta glömde min mamma i morse.")
    send_digests(app, tuesday_early.replace(hour=8, minute=0))
    # a registration whose clock read 07:59 but that committed after the digest
    # job had read: a second job that morning (a restart) cannot send it (one
    # digest a day), and it must not count as told: the next digest lists it
    racing = _register(replace(app, clock=lambda: tuesday_early.replace(minute=59)),
                       "k3", "Hemtjänsten i Lövsta låste inte dörren efter sig.")
    send_digests(app, tuesday_early.replace(hour=9, minute=0))
    # Wednesday's job never ran; Thursday catches up
    send_digests(app, datetime(2026, 3, 5, 9, 0, tzinfo=STOCKHOLM))
    send_digests(app, datetime(2026, 3, 6, 9, 0, tzinfo=STOCKHOLM))
    told = [(at.date().isoformat(), msg.get_content()) for r, at, msg in _digests(app)
            if r == SEKTORCHEF]
    assert [day for day, _ in told] == ["2026-03-03", "2026-03-05"]
    assert f"cases show {first}" in told[0][1] and f"cases show {late}" not in told[0][1]
    assert f"cases show {late}" in told[1][1] and f"cases show {first}" not in told[1][1]
    assert f"cases show {racing}" in told[1][1]
    chef_new = [o for o in _digests(app) if o[0] == CHEF]
    assert all("för kännedom" not in msg.get_content() for _r, _at, msg in chef_new)


def test_nothing_at_night_or_on_a_holiday(tmp_path: Path) -> None:
    received = datetime(2026, 6, 1, 10, 0, tzinfo=STOCKHOLM)
    app = _app(tmp_path, received)
    _register(app, "c", "Hemtjänsten i Lövsta kom inte.")
    # Due 1 July; on midsommarafton (19 June 2026), a Saturday night, and at
    # 07:59 on a working day nothing goes out even with the case due soon.
    for at in (datetime(2026, 6, 19, 9, 0, tzinfo=STOCKHOLM),
               datetime(2026, 6, 27, 23, 0, tzinfo=STOCKHOLM),
               datetime(2026, 6, 29, 7, 59, tzinfo=STOCKHOLM)):
        assert send_digests(app, at) == []
    assert send_digests(app, datetime(2026, 6, 29, 8, 0, tzinfo=STOCKHOLM))


def test_the_morning_jobs_run_once_a_working_day_in_a_long_running_process(
        tmp_path: Path) -> None:
    """The scheduler's rounds after the first of the day read nothing: they
    used to load every open deadline and render every digest each round."""
    received = datetime(2026, 6, 1, 10, 0, tzinfo=STOCKHOLM)  # a Monday
    app = _app(tmp_path, received)
    _register(app, "m", "Hemtjänsten i Lövsta kom inte.")
    statements: list[str] = []
    event.listen(app.engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_rest: statements.append(sql))
    morning = MorningJobs()
    tuesday = datetime(2026, 6, 30, 8, 5, tzinfo=STOCKHOLM)  # the case is due 1 July
    assert morning(app, datetime(2026, 6, 30, 7, 55, tzinfo=STOCKHOLM)) == []
    assert statements == []  # before 08:00: not even a query
    first = morning(app, tuesday)
    assert first and statements
    statements.clear()
    assert morning(app, tuesday + timedelta(minutes=30)) == []
    assert statements == []
    morning(app, tuesday + timedelta(days=1))  # the next working day runs again
    assert statements


def test_feedback_and_close_on_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_cli("demo", home=home)
    done = json.loads(run_cli("cases", "feedback", "1", "--note", "Ringde upp.", "--by", "lars",
                              "--json", home=home).stdout)
    assert done["status"] == "feedback_given"
    shown = json.loads(run_cli("cases", "show", "1", "--json", home=home).stdout)
    # Every stage of återkoppling met; a same-day assessment of a possible
    # serious incident is not met by återkoppling (cases.lifecycle).
    assert all(d["met_at"] for d in shown["deadlines"] if d["kind"] != "allvarlig_bedomning")
    assert "case.feedback_given" in [e["kind"] for e in shown["events"]]
    closed = run_cli("cases", "close", "2", "--note", "Besvarat.", home=home).stdout
    assert "avslutat; påminnelserna upphör" in closed
    missing = run_cli("cases", "feedback", "99", "--note", "x", home=home, check=False)
    assert missing.returncode == 5 and "ärende 99 finns inte" in missing.stderr


def _hasselby_for_hemtjanst_norr(tmp_path: Path) -> Path:
    """Ekby's configuration with Hässelby-Vällingby's routine (which promises a
    delay notice) for Hemtjänst Norr."""
    root = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, root)
    routines = root / "routines.yaml"
    routines.write_text(routines.read_text("utf-8").replace(
        "    gata_park: hasselby_stadsmiljo", "    gata_park: hasselby_stadsmiljo\n"
        "    hemtjanst_norr: hasselby_vallingby"), "utf-8")
    return root


def test_a_delay_notice_tells_the_sender_why_once(tmp_path: Path) -> None:
    """Hässelby-Vällingby: past the utredning deadline the sender is told
    why it takes longer, on the next working morning, once."""
    root = _hasselby_for_hemtjanst_norr(tmp_path)
    received = datetime(2026, 11, 2, 10, 0, tzinfo=STOCKHOLM)  # Monday; due 16 November
    app = build_app(Settings(home=tmp_path / "home", config=root))
    upgrade(app.engine)
    triage = Triage(category=Category.KLAGOMAL, confidence=0.9, needs_review=False)
    app = replace(app, classifier=FixedClassifier(triage), clock=lambda: received)
    late = _register(app, "d", "Hemtjänsten i Lövsta har slutat komma på kvällarna.")
    answered = _register(app, "e", "Hemtjänsten i Norrby slarvar med städningen.")
    with app.sessions.begin() as session:
        record_delay_reason(session, late, "Vi väntar på svar från utföraren.", "lars", received)
        record_feedback(session, answered, "Svar skickat.", "lars", received)

    assert send_delay_notices(app, datetime(2026, 11, 16, 9, 0, tzinfo=STOCKHOLM)) == []
    sent = send_delay_notices(app, datetime(2026, 11, 17, 9, 0, tzinfo=STOCKHOLM))
    assert len(sent) == 1
    assert send_delay_notices(app, datetime(2026, 11, 18, 9, 0, tzinfo=STOCKHOLM)) == []
    with app.sessions() as session:
        row = session.get_one(Outbox, sent[0])
        msg = email.message_from_bytes(row.body, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    assert row.recipient == "anna.d@example.se" and row.kind == "forseningsbesked"
    text = msg.get_content()
    assert "Vi väntar på svar från utföraren." in text
    assert "måndag 16 november 2026" in text
    assert msg["Auto-Submitted"] == "auto-replied"


def test_a_sender_who_wrote_by_sms_gets_the_delay_notice_by_sms(tmp_path: Path) -> None:
    root = _hasselby_for_hemtjanst_norr(tmp_path)
    received = datetime(2026, 11, 2, 10, 0, tzinfo=STOCKHOLM)
    app = build_app(Settings(home=tmp_path / "home", config=root, sms_join_seconds=0))
    upgrade(app.engine)
    triage = Triage(category=Category.KLAGOMAL, confidence=0.9, needs_review=False)
    app = replace(app, classifier=FixedClassifier(triage), clock=lambda: received)
    record = SmsRecord("46elks", "s1", "070-123 45 67", "+46700000100",
                       "Hemtjänsten i Lövsta kom inte i går kväll.", received)
    with app.sessions.begin() as session:
        inbound = store_sms(session, record, received).inbound_id
    case_id = process_inbound(app, inbound).case_id
    assert case_id is not None
    with app.sessions.begin() as session:
        record_delay_reason(session, case_id, "Vi väntar på utföraren.", "lars", received)
    [sent] = send_delay_notices(app, datetime(2026, 11, 17, 9, 0, tzinfo=STOCKHOLM))
    with app.sessions() as session:
        row = session.get_one(Outbox, sent)
    text = row.body.decode()
    assert (row.channel, row.recipient) == ("sms", "+46701234567")
    assert "Vi väntar på utföraren." in text and "16 november" in text
    assert "EKBY 2026/0001" in text


def test_the_digest_links_to_the_web_application_when_its_address_is_known(
        tmp_path: Path) -> None:
    received = datetime(2026, 12, 14, 10, 0, tzinfo=STOCKHOLM)
    app = _app(tmp_path, received)
    app = replace(app, settings=app.settings.model_copy(
        update={"public_url": "https://synpunkt.ekby.example/"}))
    case_id = _register(app, "a", "Hemtjänsten i Lövsta kommer för sent varje morgon.")
    send_digests(app, datetime(2027, 1, 11, 9, 0, tzinfo=STOCKHOLM))
    [(_recipient, _at, msg)] = [d for d in _digests(app) if d[0] == CHEF]
    text = msg.get_content()
    assert f"https://synpunkt.ekby.example/cases/{case_id}" in text
    assert "https://synpunkt.ekby.example/enhet" in text
    assert "synpunkt cases feedback" not in text
