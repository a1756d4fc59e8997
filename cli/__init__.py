"""``synpunkt``: the command line. Each group lives in its own module."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import NoReturn

import click

from cli import errors
from cli.helptext import swedish_help
from config.errors import ConfigError, PermanentError, TransientError

# Each command and the attribute of its module. A module is imported when
# its command runs (or --help lists them all), not for every command: all of
# them together take a second of CPU to import, and `synpunkt health`, run
# by a monitor every minute, needs less than half of that.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("cli.run", "run"), "demo": ("cli.run", "demo"),
    "deadlines": ("cli.run", "deadlines"), "db": ("cli.db", "db"),
    "cases": ("cli.cases", "cases"), "inbound": ("cli.cases", "inbound"),
    "outbox": ("cli.cases", "outbox"), "rules": ("cli.rules", "rules"),
    "users": ("cli.users", "users"), "gallra": ("cli.privacy", "gallra_command"),
    "registerutdrag": ("cli.privacy", "registerutdrag"),
    "train": ("cli.classify", "train"), "eval": ("cli.classify", "eval_command"),
    "triage": ("cli.classify", "triage"), "worker": ("cli.production", "worker"),
    "listener": ("cli.production", "listener"), "scheduler": ("cli.production", "scheduler"),
    "health": ("cli.production", "health"), "web": ("cli.web", "web"),
}


class CommandsOnDemand(click.Group):
    """A group whose commands (``COMMANDS``) are imported when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            swedish_help(command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=CommandsOnDemand,
             context_settings={"help_option_names": ["-h", "--help"]})
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
    except KeyboardInterrupt:
        _fail("avbrutet", errors.ABORTED)
    except Exception as exc:
        _fail_for(exc)


def _fail_for(exc: Exception) -> NoReturn:
    """The line and exit code for an error a command raised. The libraries'
    own exception classes are imported here, when there is one to name: a
    command that did not import them (most need neither pydantic's nor the
    case register's) does not pay for them."""
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError

    from cases.lifecycle import CaseNotFoundError
    from config.settings import env_name

    if isinstance(exc, ValidationError):
        message = exc.errors()[0]["msg"] if exc.errors() else str(exc)
        _fail(f"fel i inställningen {env_name(exc)}: {message}", errors.USAGE)
    if isinstance(exc, CaseNotFoundError):
        _fail(str(exc), errors.UNKNOWN_ID)
    if isinstance(exc, PermanentError | TransientError):
        if isinstance(exc, ValueError):  # a request the case refuses (lifecycle.py)
            _fail(str(exc), errors.REFUSED)
        _fail(str(exc), errors.DATABASE)
    if isinstance(exc, OperationalError):
        _fail(f"databasen svarar inte: {str(exc.orig).splitlines()[0]}", errors.DATABASE)
    if isinstance(exc, OSError):  # a file named on the command line, or the home folder
        where = f" {exc.filename}" if exc.filename else ""
        _fail(f"filen{where}: {errors.os_reason(exc)}", errors.MISSING_FILE)
    # a bug: the type here, the whole traceback with -v
    logging.getLogger("synpunkt").debug("oväntat fel", exc_info=exc)
    _fail(f"oväntat fel ({type(exc).__name__}); kör med -v för hela förloppet",
          errors.UNEXPECTED)


def _fail(message: str, code: int) -> NoReturn:
    line = " ".join(message.split())
    click.echo(f"synpunkt: {line}", err=True)
    sys.exit(code)
