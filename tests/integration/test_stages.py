"""Each deadline of a case is a stage of its own. Nacka (001, line 65):
"Senast inom 5 arbetsdagar ska den klagande få en första återkoppling. Målet
är att den slutliga handläggningstiden inte ska överstiga 10 arbetsdagar."
The first återkoppling meets the first stage only: the final one stays open,
in the chef's digest, until it is given."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cases.inbound import store_raw
from cases.lifecycle import NoSuchStageError, record_feedback
from cases.migrate import upgrade
from cases.models import Case, CaseStatus
from classify.triage import Category, Triage
from config.settings import SHIPPED_CONFIG, Settings
from service.app import App, build_app
from service.pipeline import process_inbound
from service.reminders import send_digests
from tests.support import FixedClassifier, run_cli

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)


def _nacka_for_hemtjanst_norr(tmp_path: Path) -> Path:
    root = tmp_path / "ekby"
    shutil.copytree(SHIPPED_CONFIG, root)
    routines = root / "routines.yaml"
    routines.write_text(routines.read_text("utf-8").replace(
        "    gata_park: hasselby_stadsmiljo", "    gata_park: hasselby_stadsmiljo\n"
        "    hemtjanst_norr: nacka_socialpsykiatri"), "utf-8")
    return root


def _app(tmp_path: Path, at: datetime) -> App:
    app = build_app(Settings(home=tmp_path / "home", config=_nacka_for_hemtjanst_norr(tmp_path)))
    upgrade(app.engine)
    triage = Triage(category=Category.KLAGOMAL, confidence=0.9, needs_review=False)
    return replace(app, classifier=FixedClassifier(triage), clock=lambda: at)


def _register(app: App, key: str) -> int:
    raw = (f"From: Anna <anna.{key}@example.se>\nTo: synpunkter@ekby.example\n"
           f"Subject: Hemtjänsten\nMessage-ID: <{key}@example.se>\n\nHemtjänsten i Lövsta "
           "kom inte i tisdags och ingen ringde.\n").encode()
    with app.sessions.begin() as session:
        inbound = store_raw(session, "test", key, raw, received_at=app.clock()).inbound_id
    case_id = process_inbound(app, inbound).case_id
    assert case_id is not None
    return case_id


def _open(app: App, case_id: int) -> tuple[str, list[str]]:
    with app.sessions() as session:
        case = session.get_one(Case, case_id)
        return case.status, sorted(d.kind for d in case.deadlines if d.met_at is None)


def test_the_first_feedback_leaves_the_final_stage_open(tmp_path: Path) -> None:
    app = _app(tmp_path, MONDAY)
    case_id = _register(app, "a")
    assert _open(app, case_id) == (CaseStatus.OPEN, ["forsta_aterkoppling",
                                                     "slutlig_aterkoppling"])
    with app.sessions.begin() as session:
        record_feedback(session, case_id, "Ringde och berättade att vi utreder.", "lars", MONDAY)
    assert _open(app, case_id) == (CaseStatus.OPEN, ["slutlig_aterkoppling"])
    # One working day before the final stage is due (Nacka's påminnelse_arbetsdagar:
    # 1), the chef's digest lists it: the case did not vanish with the first stage.
    later = replace(app, clock=lambda: datetime(2026, 3, 13, 8, 0, tzinfo=STOCKHOLM))
    digests = send_digests(later)
    assert digests, "the case vanished from the digest"
    with app.sessions.begin() as session, pytest.raises(NoSuchStageError,
                                                        match="forsta_aterkoppling"):
        record_feedback(session, case_id, "x", "lars", MONDAY, "forsta_aterkoppling")
    with app.sessions.begin() as session:
        record_feedback(session, case_id, "Skrev vad vi har gjort.", "lars", MONDAY,
                        "slutlig_aterkoppling")
    assert _open(app, case_id) == (CaseStatus.FEEDBACK_GIVEN, [])


def test_a_final_answer_at_once_meets_the_stages_before_it(tmp_path: Path) -> None:
    app = _app(tmp_path, MONDAY)
    case_id = _register(app, "b")
    with app.sessions.begin() as session:
        record_feedback(session, case_id, "Allt besvarat direkt.", "lars", MONDAY,
                        "slutlig_aterkoppling")
    assert _open(app, case_id) == (CaseStatus.FEEDBACK_GIVEN, [])


def test_the_command_line_names_the_stage_and_says_what_is_left(tmp_path: Path) -> None:
    env = {"SYNPUNKT_CONFIG": str(_nacka_for_hemtjanst_norr(tmp_path))}
    home = tmp_path / "cli"
    case = json.loads(run_cli(
        "cases", "register", "--channel", "brev", "--text", "-", "--sender", "anna@example.se",
        "--json", home=home, env=env,
        stdin="Hemtjänsten i Lövsta kom inte i tisdags och ingen ringde.".encode()).stdout)
    assert case["enhet"] == "hemtjanst_norr" and case["routine"] == "nacka_socialpsykiatri"
    case_id = str(case["id"])
    refused = run_cli("cases", "feedback", case_id, "--note", "x", "--deadline", "ingen",
                      home=home, env=env, check=False)
    assert refused.returncode == 1 and "ingen öppen frist 'ingen'" in refused.stderr
    first = run_cli("cases", "feedback", case_id, "--note", "Ringde.", home=home, env=env)
    assert ("kvar att ge: besked om vad vi har gjort (--deadline slutlig_aterkoppling)"
            in first.stdout)
    final = json.loads(run_cli("cases", "feedback", case_id, "--note", "Brev om åtgärderna.",
                               "--deadline", "slutlig_aterkoppling", "--json", home=home,
                               env=env).stdout)
    assert (final["status"], final["open_deadlines"]) == ("feedback_given", [])
