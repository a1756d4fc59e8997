"""``synpunkt run``, ``synpunkt demo`` and ``synpunkt deadlines``."""

from __future__ import annotations

import logging
from datetime import datetime

import click

from cases.models import Case, Inbound
from cli.classify import ensure_model
from cli.common import open_app
from cli.output import ZONE, echo_json, table, when
from cli.params import Moment
from config.kommun import load_kommun
from config.layers import PACKAGES
from config.settings import Settings
from config.words import Words
from deadlines.routine import deadlines_for
from ingest.message import Quarantine
from ingest.parse import parse
from notify.swedish import long_date
from service.app import App
from service.demo import drop_samples
from service.pipeline import Outcome
from workers.embedded import Pass, maildir_source, run_forever, run_once


@click.command()
@click.option("--once", is_flag=True,
              help="Behandla det som väntar (inkorg och utkorg) en gång och avsluta.")
@click.option("--json", "as_json", is_flag=True, help="Med --once: en JSON-sammanfattning.")
def run(once: bool, as_json: bool) -> None:
    """Kör allt i en process: läs inkorgen, registrera ärenden, skicka
    mottagningsbevis. Inbäddat läge som standard (SQLite, Maildir i
    $SYNPUNKT_HOME/inbox, utkorg som .eml-filer i $SYNPUNKT_HOME/outbox)."""
    if not Settings().database_url:  # embedded: build the model on first use
        ensure_model(Settings())
    app = open_app()
    if once:
        report = run_once(app, progress=lambda text: click.echo(text, err=True))
        summary = _summary(report)
        if as_json:
            echo_json(summary)
        else:
            click.echo(
                f"Nya meddelanden: {summary['stored']}. Ärenden: {summary['cases']}, "
                f"svar i befintliga ärenden: {summary['replies']}, ignorerade: "
                f"{summary['ignored']}, i karantän: {summary['quarantined']}. "
                f"Skickat: {summary['delivered']}."
                + (f" Sms som väntar på fler delar: {summary['waiting']}."
                   if summary["waiting"] else "")
                + (f" Sms-leverantören svarade inte: {report.sms_error}"
                   if report.sms_error else "")
            )
        return
    for name in PACKAGES:
        logging.getLogger(name).setLevel(min(logging.INFO, logging.getLogger().level))
    if app.settings.redis_url:
        click.echo("Synpunkt kör mot servrarna: lyssnare, arbetare och schemaläggare i en "
                   "process (Ctrl-C avslutar).", err=True)
        run_all_in_one(app)
        return
    where = "IMAP" if app.settings.imap_url else str(app.settings.inbox)
    click.echo(f"Synpunkt kör. Inkorg: {where}  Utkorg: "
               f"{'SMTP' if app.settings.smtp_url else app.settings.outbox}  (Ctrl-C avslutar)",
               err=True)
    from cli.production import warm

    warm(app)  # a long-lived process: the models loaded now, not over its first mails
    run_forever(app)


def run_all_in_one(app: App) -> None:
    """Listener threads, a dramatiq worker and the scheduler in this process."""
    import threading

    from cli.production import stop_on_signals, warm
    from workers.production import broker_and_actors, listeners, run_scheduler, run_worker

    broker, actors = broker_and_actors(app)
    warm(app)
    stop = stop_on_signals()
    threads = [threading.Thread(target=lst.run, daemon=True)
               for lst in listeners(app, actors.process.send, stop)]
    threads.append(threading.Thread(target=run_scheduler, args=(app, actors, stop), daemon=True))
    for t in threads:
        t.start()
    run_worker(app, broker, app.settings.worker_threads, stop, app.settings.worker_poll_ms)
    for t in threads:
        t.join(timeout=30)


def _summary(report: Pass) -> dict[str, int | str | None]:
    outcomes = report.outcomes
    return {
        "stored": len(report.stored),
        "processed": len(outcomes),
        # A joined SMS's later parts report the case their first part registered.
        "cases": sum(1 for o in outcomes if o.diarienummer and not o.threaded),
        "replies": sum(1 for o in outcomes if o.threaded),
        "waiting": sum(1 for o in outcomes if o.waiting_until is not None),
        "ignored": sum(1 for o in outcomes if o.status == "ignored"),
        "quarantined": sum(1 for o in outcomes if o.status == "quarantined"),
        "delivered": report.delivered,
        "retrying": report.retrying,
        "failed": report.failed,
        "sms_error": report.sms_error,
    }


@click.command()
def demo() -> None:
    """Lägg några exempelmejl i inkorgen, kör en gång och visa vad som hände med vart och ett."""
    ensure_model(Settings())
    app = open_app()
    source = maildir_source(app)
    now = app.clock()
    dropped = drop_samples(source.root, now)
    click.echo(f"Lade {len(dropped)} exempelmejl i {source.root / 'new'}.\n")
    report = run_once(app)
    by_id = {o.inbound_id: o for o in report.outcomes}
    words = Words(app.kommun)
    rows = []
    with app.sessions() as session:
        for n, inbound_id in enumerate(report.stored, 1):
            row = session.get_one(Inbound, inbound_id)
            message = parse(row.raw, app.settings.limits)
            sender = "–" if isinstance(message, Quarantine) else message.sender
            subject = "–" if isinstance(message, Quarantine) else message.subject
            outcome = by_id.get(inbound_id)
            case = session.get(Case, outcome.case_id) if outcome and outcome.case_id else None
            rows.append([n, sender, subject, _what(words, outcome, row, case),
                         _receipt(outcome)])
    click.echo(table(["#", "Från", "Ämne", "Vad hände", "Mottagningsbevis"], rows,
                     widths=[0, 26, 32, 72, 22]))
    click.echo(
        "\nKlassningsmodellen föreslår kategori och flaggor, fördelningsreglerna "
        f"({app.settings.config / 'routing.yaml'}) väljer enhet; det som är osäkert granskar "
        "registratorn."
        f"\nMottagningsbevisen och underrättelserna till cheferna ligger som .eml-filer i "
        f"{app.settings.outbox}/. Varför ett meddelande hamnade där det hamnade: "
        "`synpunkt triage FIL --explain`."
        "\nSe ärendena med `synpunkt cases list` och ett ärende med `synpunkt cases show ID`, "
        "eller i webbläsaren: lägg till en registrator med `synpunkt users add E-POST --role "
        "registrator --password-stdin` och kör `synpunkt web`."
    )


def _what(words: Words, outcome: Outcome | None, row: Inbound, case: Case | None = None) -> str:
    if outcome is None:
        reason = row.reason or ""
        return (f"Ignorerat: {reason.split(': ', 1)[-1]}" if row.status == "ignored"
                else words.inbound_status(row.status).capitalize())
    if outcome.threaded:
        return f"Svar i ärende {outcome.diarienummer}"
    if outcome.diarienummer and case is not None:
        kind = words.category(case.category) if case.category else "ej klassat"
        flags = f" [{words.flags(case.flags)}]" if case.flags else ""
        where = ("registratorn granskar" if case.enhet == "registrator"
                 else words.enhet(case.enhet)) + (
            f", hänvisas till {words.extern(case.extern)}" if case.extern else "")
        return f"Ärende {outcome.diarienummer}: {kind}{flags} → {where}"
    if outcome.diarienummer:
        return f"Ärende {outcome.diarienummer} → registratorn granskar"
    reason = (outcome.reason or "").split(": ", 1)[-1]
    if outcome.status == "ignored":
        return f"Ignorerat: {reason}"
    return f"Karantän: {reason}"


def _receipt(outcome: Outcome | None) -> str:
    if outcome is None or not outcome.diarienummer or outcome.threaded:
        return "–"
    if outcome.receipt_outbox_id is None:
        return "nej: max antal per dygn"
    return f"skickat (#{outcome.receipt_outbox_id})"


@click.command()
@click.option("--routine", "routine_id", required=True, metavar="RUTIN",
              help="Rutinens id i routines.yaml (t.ex. nacka_socialpsykiatri).")
@click.option("--received", required=True, type=Moment(), metavar="TID",
              help="När meddelandet kom: ett datum (2026-12-18) eller datum och tid "
                   "(2026-12-18T15:30, med eller utan tidszon; utan räknas svensk tid).")
@click.option("--no-contact", is_flag=True, help="Avsändaren lämnade inga kontaktuppgifter.")
@click.option("--json", "as_json", is_flag=True, help="Frister som ett JSON-objekt.")
def deadlines(routine_id: str, received: datetime, no_contact: bool, as_json: bool) -> None:
    """Räkna ut frister för ett ärende enligt en rutin (arbetsdagar, helgdagar, 16-regeln)."""
    from deadlines.calendar import receipt_day

    kommun = load_kommun(Settings().config)
    if routine_id not in kommun.routines.profiler:
        known = ", ".join(kommun.routines.profiler)
        raise click.BadParameter(f"{routine_id!r} är ingen rutin; välj bland {known}",
                                 param_hint="--routine")
    forwarded = kommun.routines.forwards_only(routine_id, not no_contact)
    due = [] if forwarded else deadlines_for(kommun.routines.profiler[routine_id], received,
                                             not no_contact)
    if as_json:
        echo_json({"routine": routine_id, "received": received,
                   "receipt_day": receipt_day(received), "diarieford": not forwarded,
                   "deadlines": [{"kind": d.kind, "due": d.due, "description": d.description,
                                  "promised_to_sender": d.promised} for d in due]})
        return
    words = Words(kommun)
    click.echo(f"Rutin: {words.routine(routine_id)}. Mottaget {when(received)} ({ZONE}); "
               f"räknas som mottaget {long_date(receipt_day(received))}.")
    if forwarded:
        click.echo("  Inga frister: rutinen diarieför inte anonyma ärenden utan vidarebefordrar "
                   "dem till enheten för sammanställning.")
    elif not due:
        click.echo("  Inga frister: rutinen lovar bara den som lämnat kontaktuppgifter något.")
    for d in due:
        click.echo(f"  {d.due.isoformat()}  ({long_date(d.due)})  "
                   f"{d.description or words.deadline(d.kind)}"
                   + ("" if d.promised else "  verksamhetens egen frist: ingen att lova den till"))
