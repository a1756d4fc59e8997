"""Registration by hand (`synpunkt cases register`): a letter, a phone call, a
visit, a complaint made in person, as the routines name them. Söderköping
(000, "Alla synpunkter och klagomål ska dokumenteras av den enskilde
alternativt av mottagaren efter godkännande från den enskilde") and
Socialnämnden (004, "skrivs ner ... men först sedan kunden/klienten givit
sitt medgivande till det"): an oral complaint is written down only with
consent, and the consent is recorded on the case."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from sqlalchemy import select

from cases.models import Case, Event, Outbox
from tests.integration.test_web import CHEF_NORR, REGISTRATOR, Site, csrf_of, site  # noqa: F401
from tests.support import run_cli

CALL = ("Ringde och berättade att hemtjänsten inte kommit till hennes mamma på "
        "Ekbacken tre morgnar i rad. Hon är orolig och vill ha besked om vad som görs.")
LETTER = ("Hej! Jag skriver med anledning av snöröjningen på Storgatan. Det har inte "
          "plogats på en vecka och det är svårt att ta sig fram med rullator.")


def _register(home: Path, text: str, *args: str, check: bool = True) -> dict[str, object]:
    done = run_cli("cases", "register", "--text", "-", *args, "--json", home=home,
                   stdin=text.encode(), check=check)
    return json.loads(done.stdout) if check else {"code": done.returncode, "err": done.stderr}


def test_an_oral_complaint_without_consent_is_refused_in_one_line(tmp_path: Path) -> None:
    """Through the command line (every refusal: tests/unit/test_by_hand.py)."""
    home = tmp_path / "home"
    refused = _register(home, CALL, "--channel", "telefon", "--phone", "070-123 45 67",
                        check=False)
    assert refused["code"] == 2
    lines = [line for line in str(refused["err"]).splitlines() if "samtycke" in line]
    assert len(lines) == 1, refused["err"]
    assert run_cli("cases", "list", "--json", home=home).stdout.strip() == ""


def test_a_phone_call_with_consent_becomes_a_case_with_an_sms_receipt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    case = _register(home, CALL, "--channel", "telefon", "--phone", "070-123 45 67",
                     "--samtycke", "--by", "user:registrator@ekby.example")
    assert str(case["diarienummer"]).startswith("EKBY ")
    assert case["channel"] == "telefon"
    assert case["contact"] == {"name": None, "email": None, "phone": "+46701234567"}
    kinds = [e["kind"] for e in case["events"]]  # type: ignore[union-attr]
    assert "case.registered_by_hand" in kinds and "case.consent" in kinds
    consent = next(e for e in case["events"] if e["kind"] == "case.consent")  # type: ignore[union-attr]
    assert consent["actor"] == "user:registrator@ekby.example"
    receipts = [o for o in case["outbox"] if o["kind"] == "mottagningsbevis"]  # type: ignore[union-attr]
    assert [(o["recipient"], o["status"]) for o in receipts] == [("+46701234567", "sent")]
    sms = [p.read_text("utf-8") for p in (home / "outbox").glob("*.sms.txt")]
    assert len(sms) == 1
    assert "det du sa i telefon" in sms[0] and "sms" not in sms[0].split(",")[0]
    assert str(case["diarienummer"]) in sms[0]


def test_a_letter_gets_its_receipt_by_mail_and_an_anonymous_one_none(tmp_path: Path) -> None:
    home = tmp_path / "home"
    case = _register(home, LETTER, "--channel", "brev", "--sender", "Greta.Lind@Example.se",
                     "--name", "Greta Lind")
    assert case["contact"] == {"name": "Greta Lind", "email": "greta.lind@example.se",
                               "phone": None}
    assert case["subject"] == LETTER[:119] + "…"  # the first line, cut
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (home / "outbox").glob("*.eml")]
    receipts = [m for m in mails if m["To"] and "greta.lind@example.se" in m["To"]]
    assert len(receipts) == 1
    assert "Hej Greta!" in receipts[0].get_content()
    text = run_cli("cases", "register", "--channel", "brev", "--text", "-", "--anonymous",
                   home=home, stdin=LETTER.encode()).stdout
    assert "Inget mottagningsbevis" in text
    anonymous = json.loads(run_cli("cases", "list", "--json", home=home).stdout.splitlines()[-1])
    assert anonymous["sender"] is None


def test_the_registrator_registers_a_visit_in_the_web_application(site: Site) -> None:  # noqa: F811
    """The page refuses an oral complaint without consent, keeping what was
    written; with it, the case is registered and its page names the number."""
    registrator = site.login(REGISTRATOR)
    form = registrator.get("/registrera")
    assert form.status_code == 200 and "Registrera för hand" in form.text
    data = {"kanal": "besok", "text": CALL, "svar": "telefon", "telefon": "070-123 45 67",
            "csrf": csrf_of(form.text)}
    refused = registrator.post("/registrera", data=data)
    assert refused.status_code == 400
    assert "samtycke" in refused.text and "hemtjänsten inte kommit" in refused.text
    done = registrator.post("/registrera", data={**data, "samtycke": "ja"})
    assert done.status_code == 200 and "Registrerat som EKBY " in done.text
    with site.app.sessions() as session:
        case = session.scalars(select(Case).order_by(Case.id.desc())).first()
        assert case is not None and case.channel == "besok"
        consent = session.scalar(select(Event).where(Event.kind == "case.consent",
                                                     Event.case_id == case.id))
        assert consent is not None and consent.actor == f"user:{REGISTRATOR}"
        receipt = session.scalar(select(Outbox).where(Outbox.case_id == case.id,
                                                      Outbox.kind == "mottagningsbevis"))
        assert receipt is not None and receipt.recipient == "+46701234567"
        assert "det du framförde vid ditt besök" in receipt.body.decode()
    chef = site.login(CHEF_NORR)
    assert chef.get("/registrera").status_code == 403
