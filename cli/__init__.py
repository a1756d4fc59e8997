"""``synpunkt``: the command line. Each group lives in its own module."""

from __future__ import annotations

import logging
import sys

import click
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from cli import by_hand, cases, classify, db, privacy, production, rules, run, users, web
from config.errors import ConfigError, PermanentError, TransientError
from config.settings import env_name


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Visa mer loggning (DEBUG).")
def cli(verbose: bool) -> None:
    """Synpunkt: tar emot synpunkter och klagomål, registrerar dem som ärenden
    med diarienummer, skickar mottagningsbevis och bevakar tidsfrister.

    Inställningar läses från SYNPUNKT_*-variabler (se README). Utan dem körs
    allt inbäddat under ./var: SQLite, en Maildir-inkorg och en utkorg med
    .eml-filer.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # Libraries that log what they carry: imapclient the whole IMAP exchange,
    # mails included (DEBUG), flufl.bounce the addresses a bounce names. Never
    # into our logs, even with -v (tests/integration/test_logs.py).
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL + 1)
    logging.getLogger("imapclient").setLevel(logging.WARNING)


cli.add_command(run.run)
cli.add_command(run.demo)
cli.add_command(run.deadlines)
cli.add_command(db.db)
cases.cases.add_command(by_hand.register)
cases.cases.add_command(by_hand.assign_command)
cli.add_command(cases.cases)
cli.add_command(cases.inbound)
cli.add_command(cases.outbox)
cli.add_command(rules.rules)
cli.add_command(users.users)
cli.add_command(privacy.gallra_command)
cli.add_command(privacy.registerutdrag)
for command in (classify.train, classify.eval_command, classify.triage):
    cli.add_command(command)
for command in (production.worker, production.listener, production.scheduler,
                production.health, web.web):
    cli.add_command(command)


def main() -> None:
    """Entry point: a bad configuration or an unreachable database is one line, not a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Avbrutet.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"synpunkt: fel i konfigurationen: {exc}", err=True)
        sys.exit(2)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"] if exc.errors() else str(exc)
        click.echo(f"synpunkt: fel i inställningen {env_name(exc)}: {message}", err=True)
        sys.exit(2)
    except (PermanentError, TransientError) as exc:
        click.echo(f"synpunkt: {exc}", err=True)
        sys.exit(3)
    except OperationalError as exc:
        click.echo(f"synpunkt: databasen svarar inte: {str(exc.orig).splitlines()[0]}", err=True)
        sys.exit(3)
