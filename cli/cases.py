"""``synpunkt cases`` and ``synpunkt inbound``: looking into the register."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import click
from sqlalchemy.orm import Session

from cases.inbound import take_up_again
from cases.lifecycle import (
    CaseNotFoundError,
    NoSuchStageError,
    close_case,
    open_stages,
    record_delay_reason,
)
from cases.models import InboundStatus, OutboxStatus
from cases.queries import list_cases, list_inbound, list_outbox, show_case
from cli.common import open_app
from cli.output import echo_json, table
from notify import attempt
from notify.attempt import confirm_sent, resend
from service.feedback import give_feedback


@click.group()
def cases() -> None:
    """Ärenden i registret."""


@cases.command("list")
@click.option("--json", "as_json", is_flag=True, help="En JSON-rad per ärende.")
def cases_list(as_json: bool) -> None:
    """Lista alla ärenden, äldst först."""
    app = open_app()
    with app.sessions() as session:
        rows = list_cases(session)
    if as_json:
        for row in rows:
            echo_json(row.as_dict())
        return
    if not rows:
        click.echo("Inga ärenden ännu.")
        return
    click.echo(table(
        ["Id", "Diarienummer", "Kanal", "Avsändare", "Ämne", "Kategori", "Enhet", "Status",
         "Granskas"],
        [[r.id, r.diarienummer, r.channel, r.sender, r.subject, r.category, r.enhet, r.status,
          r.needs_review] for r in rows],
        widths=[0, 0, 0, 30, 40],
    ))


@cases.command("show")
@click.argument("case_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Hela ärendet som ett JSON-objekt.")
def cases_show(case_id: int, as_json: bool) -> None:
    """Visa ett ärende: text, kontaktuppgifter, frister, utskick och händelser."""
    app = open_app()
    with app.sessions() as session:
        case = show_case(session, case_id)
    if case is None:
        raise click.ClickException(f"ärende {case_id} finns inte")
    if as_json:
        echo_json(case)
        return
    contact = case["contact"] or {}
    address = contact.get("email") or contact.get("phone") or "–"
    lines = [
        f"{case['diarienummer']}  (id {case['id']}, {case['status']})",
        f"Ämne:       {case['subject'] or '–'}",
        f"Avsändare:  {contact.get('name') or ''} <{address}>",
        f"Kanal:      {case['channel']}, mottaget {case['received_at']:%Y-%m-%d %H:%M} UTC",
        f"Kategori:   {case['category'] or 'ej bedömd'}; enhet: {case['enhet']}"
        f"{'; granskas av registrator' if case['needs_review'] else ''}",
        f"Förklaring: {case['explanation']}",
        f"Rutin:      {case['routine']}",
        "", "Frister:",
        *[f"  {d['due']}  {d['kind']}" for d in case["deadlines"]],
        "", "Text:", *[f"  {line}" for line in case["text"].splitlines()],
        "", "Utskick:",
        *[f"  #{o['id']} {o['kind']} till {o['recipient']}: {o['status']}" for o in case["outbox"]],
        "", "Händelser:",
        *[f"  {e['at']:%Y-%m-%d %H:%M:%S}  {e['kind']}  ({e['actor']})" for e in case["events"]],
    ]
    click.echo("\n".join(lines))


def _close_loop(action: str, case_id: int, note: str, actor: str, as_json: bool,
                stage: str | None = None, send: bool = False) -> None:
    app = open_app()
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
            still_open = sorted(d.kind for d in open_stages(case))
            result["open_deadlines"] = still_open
            result["sent_outbox_id"] = sent
    except CaseNotFoundError:
        raise click.ClickException(f"ärende {case_id} finns inte") from None
    except NoSuchStageError as exc:
        raise click.ClickException(str(exc)) from None
    if sent is not None:  # the återkoppling goes now, as from a worker
        attempt.deliver_many(app.sessions, app.transports, [sent], app.clock(),
                             app.delivery_policy)
    elif send:
        click.echo("Avsändaren lämnade inga kontaktuppgifter: inget skickat.", err=True)
    if as_json:
        echo_json(result)
    elif action == "close":
        click.echo(f"{result['diarienummer']}: avslutat; påminnelserna upphör.")
    elif still_open:
        click.echo(f"{result['diarienummer']}: återkoppling registrerad; kvar att ge: "
                   f"{', '.join(still_open)}.")
    else:
        click.echo(f"{result['diarienummer']}: återkoppling registrerad; påminnelserna upphör.")


@cases.command("feedback")
@click.argument("case_id", type=int)
@click.option("--note", required=True, help="Vad avsändaren fick veta, och hur.")
@click.option("--deadline", "stage", metavar="TYP",
              help="Vilken frist återkopplingen gäller (t.ex. forsta_aterkoppling); "
                   "utan den den tidigaste öppna.")
@click.option("--send", is_flag=True,
              help="Skicka texten till avsändaren som återkoppling (e-post eller sms).")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som registrerar.")
@click.option("--json", "as_json", is_flag=True, help="Resultatet som ett JSON-objekt.")
def cases_feedback(case_id: int, note: str, stage: str | None, send: bool, actor: str,
                   as_json: bool) -> None:
    """Registrera att avsändaren har fått återkoppling för en frist (och de
    före den). Ärendet har fått sin återkoppling när ingen frist är kvar:
    då upphör påminnelserna."""
    _close_loop("feedback", case_id, note, actor, as_json, stage, send)


@cases.command("close")
@click.argument("case_id", type=int)
@click.option("--note", required=True, help="Varför ärendet avslutas.")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som avslutar.")
@click.option("--json", "as_json", is_flag=True, help="Resultatet som ett JSON-objekt.")
def cases_close(case_id: int, note: str, actor: str, as_json: bool) -> None:
    """Avsluta ärendet; inga fler påminnelser skickas."""
    _close_loop("close", case_id, note, actor, as_json)


@cases.command("delay")
@click.argument("case_id", type=int)
@click.option("--reason", required=True,
              help="Varför det tar längre tid; står i förseningsbeskedet till avsändaren.")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som registrerar.")
def cases_delay(case_id: int, reason: str, actor: str) -> None:
    """Registrera varför ärendet tar längre tid. Rutiner som lovar ett
    förseningsbesked (Hässelby-Vällingby) skickar det till avsändaren
    morgonen efter att fristen passerat, med det här skälet."""
    app = open_app()
    try:
        with app.sessions.begin() as session:
            case = record_delay_reason(session, case_id, reason, actor, app.clock())
            number = case.diarienummer
    except CaseNotFoundError:
        raise click.ClickException(f"ärende {case_id} finns inte") from None
    click.echo(f"{number}: skälet till förseningen är registrerat.")


@click.group()
def inbound() -> None:
    """Inkommande meddelanden som de togs emot."""


@inbound.command("list")
@click.option("--status", type=click.Choice([s.value for s in InboundStatus]),
              help="Bara meddelanden med denna status.")
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
        ["Id", "Källa", "Status", "Ärende", "Storlek", "Orsak"],
        [[r.id, r.source, r.status, r.case_id, r.size, r.reason] for r in rows],
        widths=[0, 0, 0, 0, 0, 70],
    ))


@inbound.command("release")
@click.argument("inbound_id", type=int)
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
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Meddelande {inbound_id} " + ("är släppt igenom." if released
                                              else "behandlas igen."))


@click.group()
def outbox() -> None:
    """Utgående meddelanden: mottagningsbevis och andra utskick."""


@outbox.command("list")
@click.option("--status", type=click.Choice([s.value for s in OutboxStatus]),
              help="Bara utskick med denna status (t.ex. failed eller uncertain).")
@click.option("--json", "as_json", is_flag=True, help="En JSON-rad per utskick.")
def outbox_list(status: str | None, as_json: bool) -> None:
    """Lista utskick. 'failed' och 'uncertain' behöver en människas beslut."""
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
        [[r.id, r.kind, r.case_id, r.recipient, r.status, r.attempts, r.last_error]
         for r in rows],
        widths=[0, 0, 0, 32, 0, 0, 60],
    ))


@outbox.command("resend")
@click.argument("outbox_id", type=int)
@click.option("--by", "actor", default="user:cli", show_default=True,
              help="Vem som beslutade (skrivs i händelseloggen).")
def outbox_resend(outbox_id: int, actor: str) -> None:
    """Skicka ett misslyckat eller osäkert utskick igen (nästa körning levererar det)."""
    _decide(resend, outbox_id, actor)
    click.echo(f"Utskick {outbox_id} skickas igen.")


@outbox.command("arrived")
@click.argument("outbox_id", type=int)
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
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
