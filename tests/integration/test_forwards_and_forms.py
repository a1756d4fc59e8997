"""Who really wrote it, through the embedded mode: a citizen's mail that the
växel or another office forwarded (Outlook in Swedish and English, Gmail,
Apple Mail, Thunderbird, and as an attached message) and a mail from the
kommun's e-tjänst get their mottagningsbevis to the citizen. The mails are
written here in the formats those clients produce."""

from __future__ import annotations

import email
import email.message
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import select

from cases.inbound import store_raw
from cases.migrate import upgrade
from cases.models import Case, Contact, Event, Inbound
from config.settings import Settings
from service.app import App, build_app
from workers.embedded import run_once

CITIZEN = "karin.ostberg@example.se"
TEXT = ("Hej! Gatlampan utanför Björkvägen 12 har varit släckt i tre veckor och det är "
        "mörkt när barnen går till skolan. Kan ni laga den?")


def _head(sender: str, subject: str, mid: str, extra: str = "") -> str:
    return (f"From: {sender}\r\nTo: synpunkter@ekby.example\r\nSubject: {subject}\r\n"
            f"Date: Thu, 03 Dec 2026 10:15:00 +0100\r\nMessage-ID: <{mid}@ekby.example>\r\n"
            f"MIME-Version: 1.0\r\n{extra}")


def _plain(body: str) -> str:
    return ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + body.replace("\n", "\r\n") + "\r\n")


FORWARDS = {
    "outlook_sv": _head("Växeln <vaxel@ekby.example>", "VB: Trasig gatlampa", "f1") + _plain(
        "Hej, detta kom till växeln. Kan ni registrera det?\n/Lena\n\n"
        "Från: Karin Östberg <karin.ostberg@example.se>\n"
        "Skickat: den 3 december 2026 09:02\nTill: Växeln <vaxel@ekby.example>\n"
        f"Ämne: Trasig gatlampa\n\n{TEXT}\n\nKarin"),
    "outlook_en": _head("Skolkontoret <skolkontoret@skola.ekby.example>",
                        "FW: Trasig gatlampa", "f2") + _plain(
        "Forwarding to the right place.\n\n-----Original Message-----\n"
        "From: Karin Östberg [mailto:karin.ostberg@example.se]\n"
        "Sent: Thursday, December 3, 2026 9:02 AM\nTo: skolkontoret@skola.ekby.example\n"
        f"Subject: Trasig gatlampa\n\n{TEXT}"),
    "gmail_sv": _head("Per Berg <per.berg@ekby.example>", "Fwd: Trasig gatlampa", "f3") + _plain(
        "\n\n---------- Vidarebefordrat meddelande ---------\n"
        "Från: Karin Östberg <karin.ostberg@example.se>\n"
        "Date: tors 3 dec. 2026 kl 09:02\nSubject: Trasig gatlampa\n"
        f"To: <per.berg@ekby.example>\n\n\n{TEXT}\n"),
    "apple_sv": _head("Anna Lind <anna.lind@ekby.example>", "Vb: Trasig gatlampa", "f4") + _plain(
        "Till registrator.\n\nVidarebefordrat brev:\n\n"
        "Från: Karin Östberg <karin.ostberg@example.se>\nÄmne: Trasig gatlampa\n"
        "Datum: 3 december 2026 09:02:11 CET\nTill: anna.lind@ekby.example\n\n"
        f"{TEXT}\n"),
    "thunderbird_sv": _head("Ola Ek <ola.ek@ekby.example>", "Vb: Trasig gatlampa", "f5") + _plain(
        "\n\n\n-------- Vidarebefordrat meddelande --------\nÄmne: \tTrasig gatlampa\n"
        "Datum: \tThu, 3 Dec 2026 09:02:11 +0100\n"
        "Från: \tKarin Östberg <karin.ostberg@example.se>\nTill: \tola.ek@ekby.example\n\n\n"
        f"{TEXT}\n"),
    "attached": _head("Växeln <vaxel@ekby.example>", "VB: Trasig gatlampa", "f6",
                      'Content-Type: multipart/mixed; boundary="yttre"\r\n') + (
        "\r\n--yttre\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Se bifogat brev.\r\n--yttre\r\nContent-Type: message/rfc822\r\n"
        'Content-Disposition: attachment; filename="Trasig gatlampa.eml"\r\n\r\n'
        "From: Karin Östberg <karin.ostberg@example.se>\r\nTo: vaxel@ekby.example\r\n"
        "Subject: Trasig gatlampa\r\nDate: Thu, 03 Dec 2026 09:02:11 +0100\r\n"
        "Message-ID: <orig1@example.se>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + TEXT + "\r\n--yttre--\r\n"),
}


@pytest.fixture
def app(tmp_path: Path) -> App:
    built = build_app(Settings(home=tmp_path / "home"))
    upgrade(built.engine)
    return built


def _run(app: App, mails: dict[str, str]) -> dict[str, tuple[Inbound, Case | None]]:
    with app.sessions.begin() as session:
        for key, raw in mails.items():
            store_raw(session, "test", key, raw.encode("utf-8"), received_at=app.clock())
    run_once(app)
    with app.sessions() as session:
        rows = {r.source_key: r for r in session.scalars(select(Inbound))}
        cases = {c.inbound_id: c for c in session.scalars(select(Case))}
    return {k: (r, cases.get(r.id)) for k, r in rows.items()}


def _receipts(home: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((home / "outbox").glob("*.eml")):
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if mail["Auto-Submitted"] == "auto-replied":
            found.setdefault(str(mail["To"]), []).append(str(mail["Subject"]))
    return found


def _receipt_text(home: Path, to: str) -> str:
    for path in sorted((home / "outbox").glob("*.eml")):
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(mail["To"]) == to and isinstance(mail, email.message.EmailMessage):
            body = mail.get_body(("plain",))
            return body.get_content() if body is not None else ""
    return ""


@pytest.mark.parametrize("client", sorted(FORWARDS))
def test_a_forwarded_citizen_mail_is_the_citizens_case(app: App, tmp_path: Path,
                                                       client: str) -> None:
    row, case = _run(app, {client: FORWARDS[client]})[client]
    assert case is not None, row.reason
    with app.sessions() as session:
        contact = session.scalar(select(Contact).where(Contact.case_id == case.id))
        notes = [e.detail.get("note", "") for e in session.scalars(
            select(Event).where(Event.case_id == case.id, Event.kind == "case.note"))]
    assert contact is not None and contact.email == CITIZEN
    assert contact.name == "Karin Östberg"
    assert case.subject == "Trasig gatlampa"
    assert "Gatlampan utanför Björkvägen 12" in case.text
    assert "Skickat:" not in case.text and "Original Message" not in case.text
    assert any(n.startswith("Vidarebefordrat av ") for n in notes)
    assert list(_receipts(tmp_path / "home")) == [CITIZEN]


def test_a_citizen_who_forwards_keeps_the_case(app: App, tmp_path: Path) -> None:
    """Only staff forwards change the sender: a citizen forwarding their own
    earlier mail (or anyone's) is the one who wrote to us."""
    raw = FORWARDS["gmail_sv"].replace("Per Berg <per.berg@ekby.example>",
                                       "Olle Svensson <olle@example.com>")
    _row, case = _run(app, {"own": raw})["own"]
    assert case is not None
    assert list(_receipts(tmp_path / "home")) == ["olle@example.com"]
    assert "Vidarebefordrat meddelande" in case.text  # the citizen's whole mail, as sent


FORM = _head("Ekby e-tjänst <noreply@etjanst.ekby.example>", "Ny synpunkt från e-tjänsten",
             "{mid}", "{reply_to}") + _plain(
    "En ny synpunkt har lämnats via ekby.example/synpunkt.\n\n"
    "Namn: Karin Östberg\n{email_line}{phone_line}"
    "Ärende: Gatubelysning\n\nSynpunkt:\n" + TEXT + "\n\n"
    "Detta meddelande kan inte besvaras.")


PHONE_LINE = "Telefon: 070-123 45 67\n"


def test_web_form_mail_is_from_the_citizen(app: App, tmp_path: Path) -> None:
    mails = {
        "reply_to": FORM.format(mid="w1", reply_to=f"Reply-To: {CITIZEN}\r\n", email_line="",
                                phone_line=PHONE_LINE),
        "field": FORM.format(mid="w2", reply_to="",
                             email_line="E-post: kalle.nilsson@example.com\n",
                             phone_line=PHONE_LINE),
        "phone": FORM.format(mid="w5", reply_to="", email_line="", phone_line=PHONE_LINE),
        "nobody": FORM.format(mid="w3", reply_to="", email_line="", phone_line=""),
    }
    done = _run(app, mails)
    for key, (row, case) in done.items():
        assert case is not None, (key, row.reason)  # never set aside as a system sender
        assert case.channel == "webform"
    receipts = _receipts(tmp_path / "home")
    assert {k: len(v) for k, v in receipts.items()} == {CITIZEN: 1,
                                                         "kalle.nilsson@example.com": 1}
    greeting = _receipt_text(tmp_path / "home", CITIZEN)
    assert greeting.startswith("Hej Karin!")  # the form's Namn, not the e-tjänst's name
    nobody, phone = done["nobody"][1], done["phone"][1]
    assert nobody is not None and phone is not None
    with app.sessions() as session:  # registered, with nobody to send a receipt to
        assert session.scalar(select(Contact).where(Contact.case_id == nobody.id)) is None
        by_phone = session.scalar(select(Contact).where(Contact.case_id == phone.id))
        assert by_phone is not None and by_phone.phone == "+46701234567"
    # Only a phone number in the form: the mottagningsbevis goes by SMS.
    [sms] = [p.read_text("utf-8") for p in (tmp_path / "home" / "outbox").glob("*.sms.txt")]
    assert phone.diarienummer in sms


def test_any_other_noreply_sender_is_still_a_machine(app: App) -> None:
    raw = FORM.format(mid="w4", reply_to=f"Reply-To: {CITIZEN}\r\n", email_line="",
                      phone_line=PHONE_LINE).replace(
        "noreply@etjanst.ekby.example", "noreply@webshop.example.com")
    row, case = _run(app, {"shop": raw})["shop"]
    assert case is None and (row.reason or "").startswith("system-sender:")
