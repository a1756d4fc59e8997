"""``synpunkt``: the command line. Each group lives in its own module."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import click
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from cases.lifecycle import CaseNotFoundError
from cli import (
    by_hand,
    case_list,
    cases,
    classify,
    db,
    errors,
    privacy,
    production,
    rules,
    run,
    users,
    web,
)
from cli.helptext import swedish_help
from config.errors import ConfigError, PermanentError, TransientError
from config.settings import env_name


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Visa mer loggning (DEBUG).")
def cli(verbose: bool) -> None:
    """Synpunkt: tar emot synpunkter och klagomål, registrerar dem som ärenden
    med diarienummer, skickar mottagningsbevis och bevakar tidsfrister.

    Inställningar läses från SYNPUNKT_*-variabler (se README). Utan dem körs
    allt inbäddat under var/ i Synpunkts egen katalog, var du än står
    (SYNPUNKT_HOME väljer en annan): SQLite, en Maildir-inkorg och en utkorg
    med .eml-filer.
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
    # httpcore (under httpx: the SMS gateways, OIDC discovery) logs every
    # connection and header at DEBUG: nothing a person needs, and the
    # gateway's answers carry phone numbers.
    logging.getLogger("httpcore").setLevel(logging.WARNING)


cli.add_command(run.run)
cli.add_command(run.demo)
cli.add_command(run.deadlines)
cli.add_command(db.db)
cases.cases.add_command(case_list.cases_list)
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
swedish_help(cli)


def main() -> None:
    """Entry point: every error is one Swedish line on stderr with an exit code
    per kind (cli/errors.py, README "Felkoder"), never a traceback (-v logs
    an unexpected one)."""
    try:
        cli.main(prog_name="synpunkt", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("avbrutet", errors.ABORTED)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group without its command
        click.echo(exc.format_message())
        sys.exit(errors.OK)
    except click.ClickException as exc:
        _fail(errors.say(exc), exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        _fail(f"fel i konfigurationen: {exc}", errors.USAGE)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"] if exc.errors() else str(exc)
        _fail(f"fel i inställningen {env_name(exc)}: {message}", errors.USAGE)
    except CaseNotFoundError as exc:
        _fail(str(exc), errors.UNKNOWN_ID)
    except (PermanentError, TransientError) as exc:
        if isinstance(exc, ValueError):  # a request the case refuses (lifecycle.py)
            _fail(str(exc), errors.REFUSED)
        _fail(str(exc), errors.DATABASE)
    except OperationalError as exc:
        _fail(f"databasen svarar inte: {str(exc.orig).splitlines()[0]}", errors.DATABASE)
    except OSError as exc:  # a file named on the command line, or the home folder
        where = f" {exc.filename}" if exc.filename else ""
        _fail(f"filen{where}: {errors.os_reason(exc)}", errors.MISSING_FILE)
    except KeyboardInterrupt:
        _fail("avbrutet", errors.ABORTED)
    except Exception as exc:  # a bug: the type here, the whole traceback with -v
        logging.getLogger("synpunkt").debug("oväntat fel", exc_info=True)
        _fail(f"oväntat fel ({type(exc).__name__}); kör med -v för hela förloppet",
              errors.UNEXPECTED)


def _fail(message: str, code: int) -> NoReturn:
    line = " ".join(message.split())
    click.echo(f"synpunkt: {line}", err=True)
    sys.exit(code)
