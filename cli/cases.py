"""``synpunkt cases`` and ``synpunkt inbound``: looking into the register."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from sqlalchemy.orm import Session

from cases.inbound import take_up_again
from cases.lifecycle import (
    CaseNotFoundError,
    close_case,
    open_stages,
    record_assessment,
    record_delay_reason,
)
from cases.models import Case, InboundStatus, OutboxStatus
from cases.queries import list_inbound, list_outbox, show_case
from cases.search import find_by_reference
from cli.by_hand import assign_command, register
from cli.case_list import cases_list
from cli.common import case_reference, find_case, find_case_id, open_app
from cli.errors import RefusedError, UnknownIdError
from cli.output import ZONE, echo_json, table, when
from cli.params import OneOf, Whole
from config.words import Words
from notify import sending
from notify.attempt import confirm_sent, resend
from service.feedback import give_feedback


@click.group()
def cases() -> None:
    """Ärenden i registret."""


for _command in (cases_list, register, assign_command):
    cases.add_command(_command)


@cases.command("show")
@case_reference
@click.option("--json", "as_json", is_flag=True, help="Hela ärendet som ett JSON-objekt.")
def cases_show(reference: str, as_json: bool) -> None:
    """Visa ett ärende: text, kontaktuppgifter, frister, utskick och händelser.
    Ärendet anges med id (42) eller diarienummer ("EKBY 2026/0003")."""
    app = open_app()
    with app.sessions() as session:
        found = find_case(find_by_reference(session, reference), reference)
        case = show_case(session, found.id)
    assert case is not None
    if as_json:
        echo_json(case)
        return
    click.echo("\n".join(describe_case(case, Words(app.kommun))))


def describe_case(case: dict[str, Any], words: Words) -> list[str]:
    """The lines of `cases show` for a person: words, not ids; Swedish time."""
    contact = case["contact"] or {}
    address = contact.get("email") or contact.get("phone") or "–"
    who = (f"{contact['name']} <{address}>" if contact.get("name") else address) if contact \
        else "anonym"
    review = "; granskas av registratorn" if case["needs_review"] else ""
    extern = f"; hänvisas till {words.extern(case['extern'])}" if case["extern"] else ""
    explanation = words.in_words(case["explanation"] or "–")
    return [
        f"{case['diarienummer']}  (id {case['id']}, {words.status(case['status'])})",
        f"Ämne:       {case['subject'] or '–'}",
        f"Avsändare:  {who}",
        f"Kanal:      {words.channel(case['channel'])}, mottaget {when(case['received_at'])}",
        f"Kategori:   {words.category(case['category'])}; enhet: {words.enhet(case['enhet'])}"
        f"{extern}{review}",
        f"Flaggor:    {words.flags(case['flags']) or '–'}",
        f"Prioritet:  {words.priority(case['priority']) if case['priority'] else '–'}",
        f"Förklaring: {explanation}",
        f"Rutin:      {words.routine(case['routine']) or '–'}",
        "", "Frister:",
        *[f"  {d['due']}  {d['description'] or words.deadline(d['kind'])}"
          f"  ({'klar ' + when(d['met_at']) if d['met_at'] else 'öppen'})"
          for d in case["deadlines"]],
        "", "Text:", *[f"  {line}" for line in case["text"].splitlines()],
        "", "Utskick:",
        *[f"  #{o['id']} {words.outbox_kind(o['kind'])} till {o['recipient']}: "
          f"{words.outbox_status(o['status'])}" for o in case["outbox"]],
        "", "Händelser:",
        *[f"  {when(e['at'], seconds=True)}  {words.event(e['kind'])}  ({e['actor']})"
          for e in case["events"]],
        "", f"Tider i {ZONE}.",
    ]


def _close_loop(action: str, reference: str, note: str, actor: str, as_json: bool,
                stage: str | None = None, send: bool = False) -> None:
    app = open_app()
    case_id = find_case_id(app, reference)
    now = app.clock()
    sent: int | None = None
    try:
        with app.sessions.begin() as session:
            if action == "feedback":
                given = give_feedback(app, session, case_id, note, actor, stage, send)
                case, sent = given.case, given.outbox_id
            else:
                case = close_case(session, case_id, note, actor, now)
            result = {"id": case.id, "diarienummer": case.diarienummer, "status": case.status}
            stages = sorted(open_stages(case), key=lambda d: d.kind)
            still_open = [d.kind for d in stages]
            left = [f"{d.description or Words(app.kommun).deadline(d.kind)} "
                    f"(--deadline {d.kind})" for d in stages]
            result["open_deadlines"] = still_open
            result["sent_outbox_id"] = sent
    except CaseNotFoundError:
        raise UnknownIdError(f"ärende {reference} finns inte") from None
    except ValueError as exc:  # no such open stage; the case's status does not allow it
        raise RefusedError(str(exc)) from None
    if sent is not None:  # the återkoppling goes now, as from a worker
        sending.deliver_many(app.sessions, app.transports, [sent], app.clock(),
                             app.delivery_policy)
    elif send:
        click.echo("Avsändaren lämnade inga kontaktuppgifter: inget skickat.", err=True)
    if as_json:
        echo_json(result)
    elif action == "close":
        click.echo(f"{result['diarienummer']}: avslutat; påminnelserna upphör.")
    elif still_open:
        click.echo(f"{result['diarienummer']}: återkoppling registrerad; kvar att ge: "
                   f"{'; '.join(left)}.")
    else:
        click.echo(f"{result['diarienummer']}: återkoppling registrerad; påminnelserna upphör.")


@cases.command("feedback")
@case_reference
@click.option("--note", required=True, help="Vad avsändaren fick veta, och hur.")
@click.option("--deadline", "stage", metavar="TYP",
              help="Vilken frist återkopplingen gäller (t.ex. forsta_aterkoppling); "
                   "utan den den tidigaste öppna.")
@click.option("--send", is_flag=True,
              help="Skicka texten till avsändaren som återkoppling (e-post eller sms).")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som registrerar.")
@click.option("--json", "as_json", is_flag=True, help="Resultatet som ett JSON-objekt.")
def cases_feedback(reference: str, note: str, stage: str | None, send: bool, actor: str,
                   as_json: bool) -> None:
    """Registrera att avsändaren har fått återkoppling för en frist (och de
    före den). Ärendet har fått sin återkoppling när ingen frist är kvar:
    då upphör påminnelserna."""
    _close_loop("feedback", reference, note, actor, as_json, stage, send)


@cases.command("close")
@case_reference
@click.option("--note", required=True, help="Varför ärendet avslutas.")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som avslutar.")
@click.option("--json", "as_json", is_flag=True, help="Resultatet som ett JSON-objekt.")
def cases_close(reference: str, note: str, actor: str, as_json: bool) -> None:
    """Avsluta ärendet; inga fler påminnelser skickas."""
    _close_loop("close", reference, note, actor, as_json)


@cases.command("delay")
@case_reference
@click.option("--reason", required=True,
              help="Varför det tar längre tid; står i förseningsbeskedet till avsändaren.")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som registrerar.")
def cases_delay(reference: str, reason: str, actor: str) -> None:
    """Registrera varför ärendet tar längre tid. Rutiner som lovar ett
    förseningsbesked (Hässelby-Vällingby) skickar det till avsändaren
    morgonen efter att fristen passerat, med det här skälet."""
    number = _record(reference, lambda session, case_id, now: record_delay_reason(
        session, case_id, reason, actor, now))
    click.echo(f"{number}: skälet till förseningen är registrerat.")


@cases.command("assess")
@case_reference
@click.option("--note", required=True,
              help="Vad bedömningen blev: anmält enligt lex Sarah/lex Maria, eller varför inte.")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som bedömde.")
def cases_assess(reference: str, note: str, actor: str) -> None:
    """Registrera att chefen har bedömt en möjlig allvarlig händelse (lex
    Sarah, lex Maria). Bedömningen är verksamhetens egen frist samma dag;
    återkopplingen till avsändaren är en annan sak."""
    number = _record(reference, lambda session, case_id, now: record_assessment(
        session, case_id, note, actor, now))
    click.echo(f"{number}: bedömningen är registrerad.")


def _record(reference: str, write: Callable[[Session, int, datetime], Case]) -> str:
    """Write one thing on the case ``reference`` names in its own
    transaction; its diarienummer. An unknown case and a refusal (closed,
    nothing open to record) are one line each."""
    app = open_app()
    case_id = find_case_id(app, reference)
    try:
        with app.sessions.begin() as session:
            return write(session, case_id, app.clock()).diarienummer
    except CaseNotFoundError:
        raise UnknownIdError(f"ärende {reference} finns inte") from None
    except ValueError as exc:
        raise RefusedError(str(exc)) from None


@click.group()
def inbound() -> None:
    """Inkommande meddelanden som de togs emot."""


@inbound.command("list")
@click.option("--status", type=OneOf([s.value for s in InboundStatus]),
              help="Bara meddelanden med denna status: received (väntar), processed "
                   "(behandlat), ignored (lagt åt sidan) eller quarantined (i karantän).")
@click.option("--json", "as_json", is_flag=True, help="En JSON-rad per meddelande.")
def inbound_list(status: str | None, as_json: bool) -> None:
    """Lista inkommande meddelanden: behandlade, ignorerade
    (automatiska svar, nyhetsbrev, studsar) och i karantän (trasiga)."""
    app = open_app()
    with app.sessions() as session:
        rows = list_inbound(session, status)
    if as_json:
        for row in rows:
            echo_json(row.as_dict())
        return
    if not rows:
        click.echo("Inga inkommande meddelanden.")
        return
    click.echo(table(
        ["Id", "Mottaget", "Källa", "Läge", "Ärende", "Storlek", "Orsak"],
        [[r.id, when(r.received_at), r.source, Words.inbound_status(r.status), r.case_id,
          r.size, r.reason] for r in rows],
        widths=[0, 0, 0, 0, 0, 0, 70],
    ))
    click.echo(f"\nTider i {ZONE}.")


@inbound.command("release")
@click.argument("inbound_id", type=Whole(), metavar="ID")
@click.option("--by", "actor", default="user:cli", show_default=True,
              help="Vem som beslutade (skrivs i händelseloggen).")
def inbound_release(inbound_id: int, actor: str) -> None:
    """Ta upp ett ignorerat meddelande (autosvar, skräppost, dubblett) som ett
    brev från en människa, eller behandla ett i karantän igen. Nästa körning
    (eller arbetaren, via schemaläggaren) gör ärendet."""
    app = open_app()
    try:
        with app.sessions.begin() as session:
            row = take_up_again(session, inbound_id, actor)
            released = row.released
    except LookupError as exc:
        raise UnknownIdError(str(exc)) from None
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    click.echo(f"Meddelande {inbound_id} " + ("är släppt igenom." if released
                                              else "behandlas igen."))


@click.group()
def outbox() -> None:
    """Utgående meddelanden: mottagningsbevis och andra utskick."""


@outbox.command("list")
@click.option("--status", type=OneOf([s.value for s in OutboxStatus]),
              help="Bara utskick med denna status: pending (väntar), sending (skickas), "
                   "sent (skickat), failed (misslyckades) eller uncertain (osäkert).")
@click.option("--json", "as_json", is_flag=True, help="En JSON-rad per utskick.")
def outbox_list(status: str | None, as_json: bool) -> None:
    """Lista utskick. Misslyckade (failed) och osäkra (uncertain) behöver en
    människas beslut: `outbox resend ID` eller `outbox arrived ID`."""
    app = open_app()
    with app.sessions() as session:
        rows = list_outbox(session, status)
    if as_json:
        for row in rows:
            echo_json(row.as_dict())
        return
    if not rows:
        click.echo("Inga utskick.")
        return
    click.echo(table(
        ["Id", "Typ", "Ärende", "Till", "Status", "Försök", "Senaste fel"],
        [[r.id, Words.outbox_kind(r.kind), r.case_id, r.recipient,
          Words.outbox_status(r.status), r.attempts, r.last_error] for r in rows],
        widths=[0, 0, 0, 32, 0, 0, 60],
    ))


@outbox.command("resend")
@click.argument("outbox_id", type=Whole(), metavar="ID")
@click.option("--by", "actor", default="user:cli", show_default=True,
              help="Vem som beslutade (skrivs i händelseloggen).")
def outbox_resend(outbox_id: int, actor: str) -> None:
    """Skicka ett misslyckat eller osäkert utskick igen (nästa körning levererar det)."""
    _decide(resend, outbox_id, actor)
    click.echo(f"Utskick {outbox_id} skickas igen.")


@outbox.command("arrived")
@click.argument("outbox_id", type=Whole(), metavar="ID")
@click.option("--by", "actor", default="user:cli", show_default=True,
              help="Vem som beslutade (skrivs i händelseloggen).")
def outbox_arrived(outbox_id: int, actor: str) -> None:
    """Markera att ett osäkert utskick kom fram (t.ex. enligt e-postserverns
    logg): det räknas som skickat och skickas inte igen."""
    _decide(confirm_sent, outbox_id, actor)
    click.echo(f"Utskick {outbox_id} är markerat som skickat.")


def _decide(decision: Callable[[Session, int, str, datetime], object], outbox_id: int,
            actor: str) -> None:
    app = open_app()
    try:
        with app.sessions.begin() as session:
            decision(session, outbox_id, actor, app.clock())
    except LookupError as exc:
        raise UnknownIdError(str(exc)) from None
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
