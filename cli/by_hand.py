"""``synpunkt cases register``: a letter, a phone call, a visit or a complaint
made in person, registered by hand; ``synpunkt cases assign``: a handläggare."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cases.queries import show_case
from cases.register import filed_as
from cases.search import find_by_reference
from cli.common import case_reference, find_case, open_app
from cli.errors import RefusedError
from cli.output import echo_json
from cli.params import InputFile, OneOf
from config.words import Words
from ingest.by_hand import BY_HAND, EntryRefusedError, entry
from notify import sending
from service.assign import NotAHandlerError, assign
from service.by_hand import register_by_hand


@click.command("register")
@click.option("--channel", required=True, type=OneOf([str(c) for c in BY_HAND]),
              help="Hur det kom in: brev, telefon, besok (ett besök) eller muntlig.")
@click.option("--text", "text_file", required=True, type=InputFile(dash=True),
              metavar="FIL", help="Fil med texten, eller - för standard in.")
@click.option("--sender", "email", help="Personens e-postadress: mottagningsbeviset går dit.")
@click.option("--phone", help="Personens telefonnummer: mottagningsbeviset går som sms.")
@click.option("--anonymous", is_flag=True, help="Personen vill vara anonym: inget svar.")
@click.option("--name", help="Personens namn, om det är känt.")
@click.option("--subject", help="Ämne (annars textens första rad).")
@click.option("--samtycke", "consent", is_flag=True,
              help="Personen har gått med på att det muntliga klagomålet skrivs ned.")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som skrev ned det.")
@click.option("--json", "as_json", is_flag=True, help="Ärendet som ett JSON-objekt.")
def register(channel: str, text_file: Path, email: str | None, phone: str | None,
             anonymous: bool, name: str | None, subject: str | None, consent: bool,
             actor: str, as_json: bool) -> None:
    """Registrera ett brev, ett telefonsamtal, ett besök eller ett muntligt
    klagomål som ett ärende: samma klassning, fördelning, rutin, frister och
    mottagningsbevis som för e-post. Ett muntligt klagomål skrivs ned bara
    med personens samtycke (--samtycke)."""
    text = sys.stdin.read() if str(text_file) == "-" else text_file.read_text("utf-8")
    app = open_app()
    try:
        written = entry(channel, text, actor, app.clock(), email=email, phone=phone,
                        anonymous=anonymous, name=name, subject=subject, consent=consent)
    except EntryRefusedError as exc:
        raise click.UsageError(str(exc)) from None  # exit 2, as a missing option
    with app.sessions.begin() as session:
        outcome = register_by_hand(app, session, written)
    if outcome.outbox_ids:  # the receipt and the notices go now, as from a worker
        sending.deliver_many(app.sessions, app.transports, outcome.outbox_ids, app.clock(),
                             app.delivery_policy)
    assert outcome.case_id is not None
    with app.sessions() as session:
        case = show_case(session, outcome.case_id)
    assert case is not None
    if as_json:
        echo_json(case)
        return
    receipt = next((o for o in case["outbox"] if o["kind"] == "mottagningsbevis"), None)
    words = Words(app.kommun)
    click.echo(f"{filed_as(str(case['diarienummer']))} Kanal {words.channel(channel)}, enhet "
               f"{words.enhet(case['enhet'])}"
               f"{', granskas av registratorn' if case['needs_review'] else ''}.")
    click.echo(f"Mottagningsbevis till {receipt['recipient']}: "
               f"{words.outbox_status(receipt['status'])}."
               if receipt else "Inget mottagningsbevis: personen lämnade inga kontaktuppgifter.")


@click.command("assign")
@case_reference
@click.option("--to", "handler", required=True, metavar="E-POST",
              help="Handläggaren: enhetens chef eller en av dess handläggare i organisation.yaml.")
@click.option("--by", "actor", default="cli", show_default=True, help="Vem som tilldelar.")
def assign_command(reference: str, handler: str, actor: str) -> None:
    """Tilldela ärendet en handläggare. Lovar rutinen en bekräftelse med
    handläggarens namn (Essunga) skickas den nu till avsändaren; handläggaren
    får ett meddelande. Ärendet anges med id eller diarienummer."""
    app = open_app()
    try:
        with app.sessions.begin() as session:
            case = find_case(find_by_reference(session, reference), reference)
            done = assign(app, session, case, handler, actor)
            number = case.diarienummer
    except (NotAHandlerError, ValueError) as exc:
        raise RefusedError(Words(app.kommun).in_words(str(exc))) from None
    sending.deliver_many(app.sessions, app.transports, list(done.outbox_ids), app.clock(),
                         app.delivery_policy)
    click.echo(f"{number}: {handler} handlägger ärendet"
               + ("; avsändaren har fått en bekräftelse." if len(done.outbox_ids) > 1 else "."))
