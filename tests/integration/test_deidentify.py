"""De-identification at registration. Nacka (001): "Klagomålet avidentifieras
vid registreringen" and the personal data is kept apart for the
återkoppling. The register's text, and the chef's notice, carry no name,
address, number or personnummer; the original is read on the case page by
those who handle the case, and each reading is an event on the case."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select

from cases.models import Case, Contact, Event, Outbox
from classify.triage import Category, Triage
from tests.integration.test_web import CHEF_NORR, REGISTRATOR, Site, _register, site  # noqa: F401

TEXT = ("Jag heter Karin Holm och bor på Björkvägen 12 B. Boendestödjaren har inte kommit "
        "på tre veckor och min son Erik, 19400101-0000, mår sämre. Ring mig på 070-123 45 67. "
        "Hälsningar Karin")


def test_the_register_keeps_a_de_identified_text_and_the_original_apart(
        site: Site) -> None:  # noqa: F811
    case_id = _register(site.app, "d", "Boendestödet i Lövsta", TEXT,
                        Triage(category=Category.KLAGOMAL, confidence=0.95, needs_review=False))
    with site.app.sessions() as session:
        case = session.get_one(Case, case_id)
        assert (case.enhet, case.routine) == ("socialpsykiatri", "nacka_socialpsykiatri")
        for secret in ("Karin", "Holm", "Björkvägen", "19400101", "070-123"):
            assert secret not in case.text
        assert "[namn]" in case.text and "[adress]" in case.text and "[telefon]" in case.text
        assert "Boendestödjaren har inte kommit" in case.text  # the matter itself stays
        contact = session.scalar(select(Contact).where(Contact.case_id == case_id))
        assert contact is not None and contact.email == "anna.d@example.se"  # for återkoppling
        event = session.scalar(select(Event).where(Event.case_id == case_id,
                                                   Event.kind == "case.deidentified"))
        assert event is not None and event.detail["masked"]["namn"] == 3
        notices = session.scalars(select(Outbox).where(Outbox.case_id == case_id,
                                                       Outbox.kind == "underrattelse")).all()
        chef = site.app.kommun.organisation.enhet("socialpsykiatri")
        assert chef is not None and notices
        for notice in notices:
            mail = email.message_from_bytes(notice.body, policy=email.policy.default)
            assert isinstance(mail, email.message.EmailMessage)
            assert "Holm" not in mail.get_content() and "Björkvägen" not in mail.get_content()
    # The chef of another enhet may not read the original; nobody reads it unlogged.
    other = site.login(CHEF_NORR)
    assert other.get(f"/cases/{case_id}/original").status_code == 403
    page = site.login(REGISTRATOR).get(f"/cases/{case_id}")
    assert "Läs originalet" in page.text and "Björkvägen" not in page.text
    original = site.login(REGISTRATOR).get(f"/cases/{case_id}/original")
    assert original.status_code == 200 and "Björkvägen 12 B" in original.text
    with site.app.sessions() as session:
        reads = session.scalars(select(Event).where(Event.case_id == case_id,
                                                    Event.kind == "case.original_read")).all()
        assert [e.actor for e in reads] == [f"user:{REGISTRATOR}"]
