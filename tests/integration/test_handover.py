"""Who gets a new case at once and who in the next morning's digest
(`till_chefen`), through the real pipeline on a pinned clock: the digest
lists a handed-over case once; a possible serious incident, an enskild
utförare's enhet, a near deadline and a `direkt` routine go at once."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from cases.lifecycle import record_feedback
from cases.migrate import upgrade
from cases.models import Case, Event, Outbox
from classify.triage import Category, Flag, Triage
from config.settings import SHIPPED_CONFIG, Settings
from config.words import Words
from deadlines.calendar import STOCKHOLM
from review.case_view import event_text
from service.app import App, build_app
from service.reminders import send_digests
from tests.integration.seed_walk import text_of
from tests.integration.test_reminders import CHEF, _register
from tests.support import FixedClassifier

WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=STOCKHOLM)
FRIDAY = datetime(2026, 12, 4, 15, 0, tzinfo=STOCKHOLM)
GATA_CHEF = "robert.strom@ekby.example"
EKHAGEN_CHEF = "tomas.wik@ekby.example"


def _app(tmp_path: Path, at: datetime, flags: frozenset[Flag] = frozenset(),
         config: Path = SHIPPED_CONFIG) -> App:
    app = build_app(Settings(home=tmp_path / "home", config=config))
    upgrade(app.engine)
    triage = Triage(category=Category.KLAGOMAL, confidence=0.9, needs_review=False, flags=flags)
    return replace(app, classifier=FixedClassifier(triage), clock=lambda: at)


def _told(app: App, case_id: int) -> tuple[set[str], list[list[str]]]:
    """Who got a notice, and the roles each digest event names."""
    with app.sessions() as session:
        notices = {o.recipient for o in session.scalars(select(Outbox).where(
            Outbox.case_id == case_id, Outbox.kind == "underrattelse"))}
        roles = [e.detail["roles"] for e in session.scalars(select(Event).where(
            Event.case_id == case_id, Event.kind == "case.told_in_digest"))]
    return notices, roles


def _digest_to(app: App, recipient: str) -> list[str]:
    with app.sessions() as session:
        return [text_of(o) for o in session.scalars(
            select(Outbox).where(Outbox.kind == "sammanstallning",
                                 Outbox.recipient == recipient).order_by(Outbox.id))]


def test_a_case_that_can_wait_is_handed_over_once_in_the_morning(tmp_path: Path) -> None:
    app = _app(tmp_path, WEDNESDAY)
    case_id = _register(app, "w1", "Hemtjänsten i Lövsta kommer för sent varje morgon.")
    assert _told(app, case_id) == (set(), [["enhetschef", "sektorchef"]])
    with app.sessions() as session:
        [event] = session.scalars(select(Event).where(
            Event.case_id == case_id, Event.kind == "case.told_in_digest")).all()
        said = event_text(event, Words(app.kommun))
        number = session.get_one(Case, case_id).diarienummer
    assert said == ("tas med i morgonsammanställningen: till enhetschefen att handlägga, "
                    "för kännedom till sektorchef")
    send_digests(app, datetime(2026, 12, 3, 8, 0, tzinfo=STOCKHOLM))
    send_digests(app, datetime(2026, 12, 4, 8, 0, tzinfo=STOCKHOLM))
    thursday, *later = _digest_to(app, CHEF)
    assert "Nya ärenden till dig att handlägga:" in thursday
    assert f"- {number} (Hemtjänst Norr): klagomål, första frist" in thursday
    assert later == [], "handed over once, not again on Friday"


def test_what_goes_to_the_chef_at_once_whatever_the_routine_says(tmp_path: Path) -> None:
    # a possible serious incident
    urgent = _app(tmp_path / "a", WEDNESDAY, frozenset({Flag.ALLVARLIG_HANDELSE}))
    case_id = _register(urgent, "u1", "Hemtjänsten i Lövsta lämnade pappa på golvet i natt.")
    notices, roles = _told(urgent, case_id)
    assert CHEF in notices and not any("enhetschef" in r for r in roles)
    # an enhet an enskild utförare runs: the chef forwards it with a date
    ekhagen = _app(tmp_path / "b", WEDNESDAY)
    case_id = _register(ekhagen, "e1", "Maten på Ekhagens äldreboende är alltid kall.")
    notices, roles = _told(ekhagen, case_id)
    assert EKHAGEN_CHEF in notices and not any("enhetschef" in r for r in roles)
    # a 3-dagar deadline on a Friday afternoon, under a routine that would wait
    config = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, config)
    routines = config / "routines.yaml"
    text = routines.read_text("utf-8")
    start = text.index("  hasselby_stadsmiljo:")
    routines.write_text(text[:start] + text[start:].replace(
        "    till_chefen: direkt\n", "", 1), "utf-8")
    near = _app(tmp_path / "c", FRIDAY, config=config)
    case_id = _register(near, "g1", "Gatlampan utanför Storgatan 4 är trasig sedan en vecka.")
    with near.sessions() as session:
        assert session.get_one(Case, case_id).routine == "hasselby_stadsmiljo"
    notices, roles = _told(near, case_id)
    assert GATA_CHEF in notices and not any("enhetschef" in r for r in roles)
    # the same routine as shipped says `direkt`: at once on a Wednesday too
    direct = _app(tmp_path / "d", WEDNESDAY)
    case_id = _register(direct, "g2", "Gatlampan utanför Storgatan 4 är trasig sedan en vecka.")
    assert GATA_CHEF in _told(direct, case_id)[0]


def test_a_case_answered_before_the_morning_is_not_handed_over(tmp_path: Path) -> None:
    """The registrator gave the återkoppling the same afternoon: the chef's
    digest does not ask the chef to handle it; the sektorchef still reads of
    it for kännedom."""
    app = _app(tmp_path, WEDNESDAY)
    case_id = _register(app, "w2", "Hemtjänsten i Lövsta kommer för sent varje morgon.")
    with app.sessions.begin() as session:
        record_feedback(session, case_id, "Ringde och förklarade.", "user:registrator",
                        WEDNESDAY)
    send_digests(app, datetime(2026, 12, 3, 8, 0, tzinfo=STOCKHOLM))
    assert _digest_to(app, CHEF) == []
    [told] = _digest_to(app, "maria.berg@ekby.example")
    assert "du informeras som sektorchef" in told
