"""``synpunkt gallra`` and ``synpunkt registerutdrag``: the register's
personal data, removed on the kommun's schedule or handed to the person."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from cases.export import SEKRETESS_REMINDER, sender_of, write_registerutdrag
from cases.gallring import GallringReport, gallra
from cli.common import open_app
from cli.errors import MissingFileError
from cli.output import ZONE, echo_json, when
from cli.params import Moment
from deadlines.calendar import STOCKHOLM


@click.command("gallra")
@click.option("--dry-run", is_flag=True, help="Visa vad som skulle gallras; ändra ingenting.")
@click.option("--json", "as_json", is_flag=True, help="Resultatet som ett JSON-objekt.")
@click.option("--now", type=Moment(), metavar="TID",
              help="Gallra som om klockan vore denna: ett datum (2029-01-01) eller datum och "
                   "tid (2029-01-01T08:00; utan tidszon svensk tid). För att pröva "
                   "gallringsbeslutet i förväg, helst med --dry-run.")
def gallra_command(dry_run: bool, as_json: bool, now: datetime | None) -> None:
    """Gallra personuppgifter enligt kommunens gallringsbeslut (blocket
    `gallring:` i organisation.yaml).

    Avslutade ärenden äldre än beslutets antal månader: kontaktuppgifter,
    ämne, text, inkomna meddelanden med bilagor, utskickens innehåll och
    fritext i händelseloggen (anteckningar, återkoppling, skäl) tas bort och
    ersätts med [gallrad ÅÅÅÅ-MM-DD]. Kvar blir diarienummer, kategori,
    flaggor, enhet, rutin, datum, frister, status och händelsernas slag,
    tid och vem: statistiken och händelseloggen fungerar som förut. Öppna
    ärenden rörs aldrig. Ignorerad automatisk post (frånvaromeddelanden,
    studsar, nyhetsbrev) töms efter beslutets antal dagar.

    Körs också en gång om dygnet av schemaläggaren och av `synpunkt run`.
    En andra körning gallrar ingenting nytt.
    """
    app = open_app()
    policy = app.kommun.organisation.gallring
    if policy is None:
        message = ("Ingen gallring är beslutad: lägg till blocket `gallring:` i "
                   f"{app.settings.config / 'organisation.yaml'} (se README).")
        if as_json:
            echo_json({"configured": False, "message": message})
        else:
            click.echo(message)
        return
    moment = app.clock() if now is None else now
    say = None if as_json else (lambda text: click.echo(text, err=True))
    report = gallra(app.sessions, policy, moment, dry_run=dry_run, progress=say)
    if as_json:
        echo_json(as_dict(report))
    else:
        click.echo(describe(report, policy.beslut))


def as_dict(report: GallringReport) -> dict[str, object]:
    cut = report.cutoffs
    return {
        "configured": True, "dry_run": report.dry_run, "now": report.now,
        "cases_closed_before": cut.cases_closed_before,
        "automatic_before": cut.automatic_before,
        "quarantined_before": cut.quarantined_before,
        "cases": [{"id": c.case_id, "diarienummer": c.diarienummer, "closed_at": c.closed_at,
                   "fields": list(c.fields), "inbound": c.inbound, "outbox": c.outbox,
                   "events": c.events} for c in report.cases],
        "waiting": report.waiting, "automatic": report.automatic,
        "quarantined": report.quarantined,
    }


def describe(report: GallringReport, beslut: str | None) -> str:
    cut = report.cutoffs
    verb = "skulle gallras" if report.dry_run else "gallrades"
    lines = [
        ("Provkörning, ingenting ändrades. " if report.dry_run else "")
        + f"Gallring enligt {beslut or 'gallringsbeslutet'}: ärenden avslutade före "
        f"{when(cut.cases_closed_before)}, automatisk post mottagen före "
        f"{when(cut.automatic_before)}"
        + (f", karantän mottagen före {when(cut.quarantined_before)}."
           if cut.quarantined_before else "; karantänen behålls."),
    ]
    lines.append(f"Tider i {ZONE}.")
    if not report.cleared_anything and not report.waiting:
        lines.append("Inget att gallra.")
    if report.cases:
        lines.append(f"Ärenden som {verb}: {len(report.cases)}")
        for c in report.cases:
            lines.append(
                f"  {c.diarienummer} (avslutat {c.closed_at.astimezone(STOCKHOLM):%Y-%m-%d}): "
                f"{len(c.fields)} fält, {c.inbound} inkomna meddelanden, {c.outbox} utskick, "
                f"{c.events} händelser")
    for number in report.waiting:
        lines.append(f"  {number}: väntar, ett utskick är på väg; gallras nästa gång.")
    if report.automatic:
        lines.append(f"Automatiska meddelanden som {verb} (innehållet tömt): "
                     f"{report.automatic}")
    if report.quarantined:
        lines.append(f"Meddelanden i karantän som {verb} (innehållet tömt): "
                     f"{report.quarantined}")
    return "\n".join(lines)


@click.command("registerutdrag")
@click.argument("who", metavar="E-POST_ELLER_TELEFON")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Zip-filen som skapas, t.ex. registerutdrag.zip.")
@click.option("--json", "as_json", is_flag=True, help="En sammanfattning som ett JSON-objekt.")
def registerutdrag(who: str, out: Path, as_json: bool) -> None:
    """Registerutdrag (GDPR artikel 15): allt registret har sparat om en
    avsändare, i en zip-fil.

    Avsändaren anges med e-postadress (stora och små bokstäver spelar ingen
    roll) eller telefonnummer (hur det än skrivs: 070-123 45 67 och
    +46701234567 är samma). Zip-filen innehåller avsändarens ärenden med
    kontaktuppgifter, frister, status och händelselogg (handläggarnas
    anteckningar ingår), varje meddelande från avsändaren precis som det
    kom in (.eml, sms som JSON), allt som skickats till avsändaren och en
    README.txt på svenska som förklarar delarna. Andras ärenden och
    meddelanden kommer inte med.

    Registratorn ska granska utdraget för sekretess innan det lämnas ut.
    """
    sender = sender_of(who)
    if sender is None:
        raise click.BadParameter("varken en e-postadress eller ett telefonnummer",
                                 param_hint="E-POST_ELLER_TELEFON")
    if not out.parent.is_dir():
        raise MissingFileError(f"--out: katalogen {out.parent} finns inte")
    app = open_app()
    with app.sessions() as session:
        result = write_registerutdrag(session, sender, out, app.clock())
    if as_json:
        echo_json({"sender": sender.value, "kind": sender.kind, "out": str(out),
                   "cases": result.cases, "inbound": result.inbound, "outbox": result.outbox})
    else:
        click.echo(f"Registerutdrag för {sender.value} skrivet till {out}. Ärenden: "
                   f"{len(result.cases)}, inkomna meddelanden: {len(result.inbound)}, "
                   f"utskick: {len(result.outbox)}.")
    click.echo(SEKRETESS_REMINDER, err=True)
