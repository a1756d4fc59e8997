"""Routing in the running system: what each flag does for the people told,
the admin's `rules check` / `rules test --against` / `triage --explain`, and a
running `synpunkt run` that picks up an edited rules file without a restart.

The consequences are tested with a fixed triage (the classifier seam), so
that they do not depend on what the trained model happens to say; the
routing, the case register and the outbox are the real ones."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Deadline, Outbox
from classify.triage import Category, Flag, Triage
from config.settings import SHIPPED_CONFIG, Settings
from deadlines.calendar import receipt_day
from service.app import App, build_app
from service.pipeline import process_inbound, received_at_local
from tests.support import FixedClassifier, run_cli, synpunkt_cmd


def _mail(text: str, subject: str = "Synpunkt", sender: str = "karin.ek@example.se") -> bytes:
    return (f"From: Karin Ek <{sender}>\nTo: synpunkter@ekby.example\nSubject: {subject}\n"
            "Message-ID: <t1@example.se>\nDate: Mon, 23 Nov 2026 10:00:00 +0100\n"
            "Content-Type: text/plain; charset=utf-8\n\n" + text + "\n").encode()


def _register(tmp_path: Path, text: str, flags: set[Flag], category: Category =
              Category.KLAGOMAL, config: Path = SHIPPED_CONFIG
              ) -> tuple[App, Case, list[email.message.EmailMessage]]:
    app = build_app(Settings(home=tmp_path / "home", config=config))
    upgrade(app.engine)
    triage = Triage(category=category, confidence=0.9, needs_review=False,
                    flags=frozenset(flags), model_version="fixed")
    app = replace(app, classifier=FixedClassifier(triage))
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", "k1", _mail(text)).inbound_id
    outcome = process_inbound(app, inbound)
    assert outcome.case_id is not None, outcome
    with app.sessions() as session:
        case = session.get_one(Case, outcome.case_id)
        session.expunge(case)
        mails = [email.message_from_bytes(o.body, policy=email.policy.default)
                 for o in session.scalars(select(Outbox).order_by(Outbox.id))]
    return app, case, [m for m in mails if isinstance(m, email.message.EmailMessage)]


def _to(mails: list[email.message.EmailMessage], address: str) -> email.message.EmailMessage:
    found = [m for m in mails if m["To"] == address]
    assert len(found) == 1, [m["To"] for m in mails]
    return found[0]


def test_a_serious_incident_alerts_enhetschef_and_sektorchef_at_once(tmp_path: Path) -> None:
    text = ("Hemtjänsten i Lövsta kom inte i går kväll. Mamma, 19380207-2847, låg på "
            "golvet hela natten.")
    app, case, mails = _register(tmp_path, text, {Flag.ALLVARLIG_HANDELSE})
    assert case.enhet == "hemtjanst_norr" and case.priority == "akut"
    with app.sessions() as session:
        kinds = {d.kind: d.due for d in session.scalars(
            select(Deadline).where(Deadline.case_id == case.id))}
    # The chef's assessment is due the day it came in, whatever the routine says.
    assert kinds["allvarlig_bedomning"] == receipt_day(received_at_local(case.received_at))
    assert kinds["aterkoppling"] > kinds["allvarlig_bedomning"]
    receipt = _to(mails, "karin.ek@example.se")
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert "lex Sarah" not in receipt.get_content()  # internal, not promised to the sender
    for chef in ("lars.oberg@ekby.example", "maria.berg@ekby.example"):
        notice = _to(mails, chef)
        assert notice["Importance"] == "high" and notice["Auto-Submitted"] == "auto-generated"
        assert str(notice["Subject"]).startswith("BRÅDSKANDE:")
        body = notice.get_content()
        assert "lex Sarah" in body and "låg på golvet" in body
        assert "19380207-2847" not in body  # masked
    assert len(mails) == 3


def test_an_enskild_utforare_is_reached_through_the_kommuns_chef(tmp_path: Path) -> None:
    _app, case, mails = _register(tmp_path, "Maten på Ekhagen har blivit sämre och "
                                  "personalen hinner inte hjälpa mamma att äta.", set())
    assert case.enhet == "ekhagen"
    body = _to(mails, "tomas.wik@ekby.example").get_content()
    assert "Omsorgia AB" in body and "kvalitet@omsorgia.example" in body
    assert "återkoppling till dig senast" in body
    assert not [m for m in mails if m["To"] == "kvalitet@omsorgia.example"]


def test_welfare_crime_tells_the_contract_owner_and_the_upphandlare(tmp_path: Path) -> None:
    _app, _case, mails = _register(tmp_path, "Ekhagen tar betalt för promenader som aldrig "
                                   "blir av.", {Flag.VALFARDSBROTT})
    contract = _to(mails, "tomas.wik@ekby.example").get_content()
    assert "avtalsansvarig" in contract and "välfärdsbrott" in contract
    assert "upphandlare" in _to(mails, "upphandling@ekby.example").get_content()


def test_an_appeal_is_told_how_to_appeal_and_offered_help(tmp_path: Path) -> None:
    _app, case, mails = _register(tmp_path, "Jag vill överklaga beslutet om avslag på "
                                  "hemtjänst för min pappa i Norrby.", {Flag.OVERKLAGANDE})
    assert case.enhet == "bistand"  # the enhet that made the decision
    receipt = _to(mails, "karin.ek@example.se").get_content()
    assert "överklagar det" in receipt and "hjälp att överklaga" in receipt


def test_a_confidential_case_is_restricted_and_its_text_stays_inside(tmp_path: Path) -> None:
    # the chef told at once (`till_chefen: direkt`), so that a notice carries the case
    config = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, config)
    routines = config / "routines.yaml"
    routines.write_text(routines.read_text("utf-8").replace(
        "  soderkoping:\n", "  soderkoping:\n    till_chefen: direkt\n", 1), "utf-8")
    _app, case, mails = _register(tmp_path, "Min son har autism och får inget stöd på "
                                  "fritids på Ekbyskolan.", {Flag.SEKRETESS}, config=config)
    assert case.restricted and case.enhet == "ekbyskolan" and case.routine == "soderkoping"
    body = _to(mails, "magnus.ahl@ekby.example").get_content()
    assert "autism" not in body and "sekretess" in body


def test_an_external_matter_tells_the_sender_where_to_turn(tmp_path: Path) -> None:
    _app, case, mails = _register(tmp_path, "Mitt bostadsbidrag från Försäkringskassan har "
                                  "inte kommit.", {Flag.EXTERN})
    assert (case.enhet, case.extern, case.needs_review) == ("registrator",
                                                            "forsakringskassan", True)
    receipt = _to(mails, "karin.ek@example.se").get_content()
    assert "Försäkringskassan" in receipt and "0771-524 524" in receipt
    assert len(mails) == 1  # no enhet to notify; the registrator's review list shows it


def test_a_medborgarforslag_reaches_the_registrator(tmp_path: Path) -> None:
    _app, case, mails = _register(tmp_path, "Medborgarförslag: bygg en hundrastgård i "
                                  "parken i Söderby.", {Flag.MEDBORGARFORSLAG},
                                  Category.SYNPUNKT)
    assert case.enhet == "gata_park"
    assert "medborgarförslag" in _to(mails, "registrator@ekby.example").get_content()


# --- the admin's tools through the real command line -------------------------------

DATASET = [
    {"id": "b1", "channel": "email", "from": "", "subject": "", "category": "klagomal",
     "text": "Biblioteket i Norrby har stängt på lördagar nu.", "enhet": "bibliotek",
     "flags": [], "extern": None, "aspects": []},
    {"id": "b2", "channel": "sms", "from": "", "subject": "", "category": "synpunkt",
     "text": "bokbussen borde stanna i lovsta igen", "enhet": "bibliotek",
     "flags": [], "extern": None, "aspects": []},
    {"id": "g1", "channel": "email", "from": "", "subject": "", "category": "klagomal",
     "text": "Gatlampan utanför Storgatan 4 är trasig sedan en vecka.", "enhet": "gata_park",
     "flags": ["felanmalan"], "extern": None, "aspects": []},
]


def _config_copy(tmp_path: Path) -> Path:
    root = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, root)
    return root


def test_rules_test_against_shows_exactly_what_moves(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in DATASET), "utf-8")
    draft = tmp_path / "utkast.yaml"
    live = SHIPPED_CONFIG / "routing.yaml"
    draft.write_text(live.read_text("utf-8").replace(
        "    when: {words: $bibliotek}\n    then: {enhet: bibliotek}",
        "    when: {words: $bibliotek}\n    then: {enhet: kontaktcenter}"), "utf-8")
    out = run_cli("rules", "test", str(data), "--rules", str(draft), "--against", str(live),
                  "--json", home=tmp_path / "home").stdout
    result = json.loads(out)
    assert result["per_enhet"]["bibliotek"] == {"right": 0, "total": 2}
    assert result["against"]["per_enhet"]["bibliotek"] == {"right": 2, "total": 2}
    assert sorted((m["id"], m["before"], m["after"], m["verdict"]) for m in result["moves"]) == [
        ("b1", "bibliotek", "kontaktcenter", "sämre"),
        ("b2", "bibliotek", "kontaktcenter", "sämre")]
    text = run_cli("rules", "test", str(data), "--rules", str(draft), "--against", str(live),
                   home=tmp_path / "home").stdout
    assert "2 meddelanden byter mottagare: 0 blir rätt, 2 blir fel" in text


def test_rules_test_replays_the_registered_cases(tmp_path: Path) -> None:
    """Real mail: the cases in the register, with their present destination as
    the answer, show what a draft would change before it goes live."""
    home = tmp_path / "home"
    run_cli("demo", home=home)
    draft = tmp_path / "utkast.yaml"
    live = SHIPPED_CONFIG / "routing.yaml"
    draft.write_text(live.read_text("utf-8").replace(
        "    when: {words: $bibliotek}\n    then: {enhet: bibliotek}",
        "    when: {words: $bibliotek}\n    then: {enhet: kontaktcenter}"), "utf-8")
    result = json.loads(run_cli("rules", "test", "--cases", "--rules", str(draft), "--against",
                                str(live), "--json", home=home).stdout)
    assert result["n"] == 5  # the demo's five cases (the sixth mail is an auto-reply)
    assert result["against"]["destination_accuracy"] == 1.0  # nothing changed yet
    assert [(m["before"], m["after"]) for m in result["moves"]] == [("bibliotek",
                                                                     "kontaktcenter")]
    assert result["moves"][0]["id"].endswith("/0002")
    both = run_cli("rules", "test", "--cases", str(draft), home=home, check=False)
    assert both.returncode == 2 and "antingen en DATASET-fil eller --cases" in both.stderr


def test_rules_check_summarises_and_a_broken_file_is_one_line(tmp_path: Path) -> None:
    ok = run_cli("rules", "check", "--json", home=tmp_path / "home").stdout
    summary = json.loads(ok)
    assert summary["without_rule"] == []
    assert "bistand-beslut" in summary["destinations"]["bistand"]
    root = _config_copy(tmp_path)
    path = root / "routing.yaml"
    text = path.read_text("utf-8").replace("then: {enhet: gymnasium}", "then: {enhet: gymnasiet}")
    path.write_text(text, "utf-8")
    line = text[:text.index("enhet: gymnasiet")].count("\n") + 1
    bad = run_cli("rules", "check", home=tmp_path / "home", check=False,
                  env={"SYNPUNKT_CONFIG": str(root)})
    assert bad.returncode == 2
    assert bad.stderr.strip() == (f"synpunkt: fel i konfigurationen: {path}:{line}: regel "
                                  "'gymnasium': okänd enhet 'gymnasiet' (finns inte i "
                                  "organisation.yaml)")


def test_triage_explain_lists_every_rule_tried(tmp_path: Path) -> None:
    out = run_cli("triage", "-", "--explain", "--json", home=tmp_path / "home",
                  stdin="Gatlampan på Storgatan i Söderby är trasig.".encode()).stdout
    result = json.loads(out)
    trace = result["trace"]
    decided = [t for t in trace if t["decided"]]
    assert len(decided) == 1 and decided[0]["rule"] == result["rule"] == "gata-park-drift"
    before = trace[:trace.index(decided[0])]
    assert before and not any(t["matched"] and not t["rule"].startswith("lex") for t in before
                              if t["rule"] != "medborgarforslag")
    assert all(t["why"] for t in trace)
    assert result["rules_version"].startswith("rules:")


def test_a_running_worker_picks_up_an_edited_rules_file(tmp_path: Path) -> None:
    root = _config_copy(tmp_path)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    env |= {"SYNPUNKT_HOME": str(home), "SYNPUNKT_CONFIG": str(root),
            "SYNPUNKT_POLL_SECONDS": "0.2"}
    proc = subprocess.Popen([synpunkt_cmd(), "-v", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

    def drop_and_wait(name: str, n: int) -> dict[str, object]:
        (home / "inbox" / "tmp").mkdir(parents=True, exist_ok=True)
        raw = _mail("Gatlampan på Storgatan är trasig sedan i måndags.").replace(
            b"<t1@", f"<{name}@".encode())
        (home / "inbox" / "tmp" / name).write_bytes(raw)
        (home / "inbox" / "tmp" / name).rename(home / "inbox" / "new" / name)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            listed = run_cli("cases", "list", "--json", home=home, env=env).stdout.splitlines()
            if len(listed) >= n:
                shown = run_cli("cases", "show", str(n), "--json", home=home, env=env).stdout
                return dict(json.loads(shown))
            time.sleep(0.2)
        pytest.fail(f"case {n} never registered")

    try:
        for _ in range(600):  # the maildir appears when run has loaded the models
            if (home / "inbox" / "new").is_dir():
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        else:
            pytest.fail("synpunkt run never made its inbox")
        first = drop_and_wait("m1", 1)
        assert first["enhet"] == "gata_park"
        path = root / "routing.yaml"
        path.write_text(path.read_text("utf-8").replace(
            "    then: {enhet: gata_park}", "    then: {registrator: true}"), "utf-8")
        time.sleep(1.5)  # the router looks at the file at most once a second
        second = drop_and_wait("m2", 2)
        assert second["enhet"] == "registrator" and second["rule"] == "gata-park-drift"
        assert second["rules_version"] != first["rules_version"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "routing rules reloaded" in err
