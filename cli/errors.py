"""What goes wrong on the command line: one Swedish line on stderr, starting
``synpunkt:``, and an exit code per kind of fault (README, "Felkoder"):

    0    klart
    1    nekat: det som begärs går inte med ärendet eller utskicket i dess
         läge (redan avslutat, ingen sådan öppen frist, inte en handläggare);
         `synpunkt health` när något är fel
    2    fel i kommandot: okänt kommando eller flagga, värde som saknas eller
         är fel (datum, tal, okänt val, okänd rutin), fel i konfigurationen
         eller i en SYNPUNKT_-inställning
    3    databasen (eller en annan server) svarar inte, eller databasen har
         inte senaste schemat
    4    en fil finns inte eller kan inte läsas
    5    okänt id: inget ärende, meddelande, utskick eller process med det
         id:t eller diarienumret
    70   oväntat fel (en bugg): typen på raden, hela förloppet med -v
    130  avbrutet (Ctrl-C)

Click's own messages are English ("Error: Invalid value for ..."); ``say``
gives each of them as one Swedish line, built from the exception's fields.
The command line's own errors are Click exceptions (their exit code) in the
project's one tree (config/errors.py): PermanentErrors, a person must act.
"""

from __future__ import annotations

import errno
import re

import click

from config.errors import PermanentError

OK = 0
REFUSED = 1
USAGE = 2
DATABASE = 3
MISSING_FILE = 4
UNKNOWN_ID = 5
UNEXPECTED = 70
ABORTED = 130


class UnknownIdError(PermanentError, click.ClickException):
    """No case, inbound message, outbox row or process with that id."""

    exit_code = UNKNOWN_ID


class MissingFileError(PermanentError, click.ClickException):
    """A file named on the command line is missing or cannot be read."""

    exit_code = MISSING_FILE


class DatabaseStateError(PermanentError, click.ClickException):
    """The database answers but cannot be used as it is (an old schema)."""

    exit_code = DATABASE


class RefusedError(PermanentError, click.ClickException):
    """The request is understood, but the case or the row does not allow it."""

    exit_code = REFUSED


# Click's English for the usage errors it raises without a class of its own,
# and the messages of its parameter types (a safety net: cli/params.py's types
# say it in Swedish from the start).
_ENGLISH = [
    (re.compile(r"^Got unexpected extra arguments? \((?P<x>.*)\)$"), "för många argument: {x}"),
    (re.compile(r"^Missing command\.?$"), "ange ett kommando"),
    (re.compile(r"^(?P<x>.*) is not a valid (integer|float|number)( range)?\.?$"),
     "{x} är inte ett tal"),
    (re.compile(r"^(?P<x>.*) is not (one of )?(?P<y>.*?)\.?$"), "{x} finns inte; välj bland {y}"),
    (re.compile(r"^(?P<x>.*) does not match the formats? (?P<y>.*?)\.?$"),
     "{x} är inte ett datum eller en tid (t.ex. 2026-12-18 eller 2026-12-18T15:30)"),
    (re.compile(r"^(File|Path|Directory) (?P<x>.*) does not exist\.?$"), "{x} finns inte"),
]


_OS_REASONS = {errno.ENOENT: "finns inte", errno.EACCES: "åtkomst nekad",
               errno.EPERM: "åtkomst nekad", errno.EISDIR: "är en katalog",
               errno.ENOTDIR: "en del av sökvägen är inte en katalog",
               errno.ENOSPC: "disken är full", errno.EROFS: "skrivskyddat filsystem"}


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in Swedish (the system's words otherwise)."""
    return _OS_REASONS.get(exc.errno or -1, exc.strerror or type(exc).__name__)


def swedish(english: str) -> str:
    """One of Click's English messages in Swedish; a message that is already
    ours (Swedish) comes back as it is."""
    for pattern, template in _ENGLISH:
        found = pattern.match(english.strip())
        if found:
            return template.format(**found.groupdict())
    return english


def say(exc: click.ClickException) -> str:
    """The one line for ``exc``, without the leading ``synpunkt:``."""
    ctx = getattr(exc, "ctx", None)
    where = f"{_path(ctx)}: " if ctx is not None and ctx.parent is not None else ""
    helps = f" (se {ctx.command_path} --help)" if ctx is not None else ""
    if isinstance(exc, click.NoSuchOption):
        return f"{where}okänd flagga {exc.option_name}{_maybe(exc.possibilities)}{helps}"
    if isinstance(exc, click.NoSuchCommand):
        return (f"{where}okänt kommando {exc.command_name!r}{_maybe(exc.possibilities)}"
                f"{helps}")
    if isinstance(exc, click.BadOptionUsage):
        if "does not take" in exc.message:
            return f"{where}{exc.option_name} tar inget värde"
        if exc.message.startswith("Option "):
            return f"{where}{exc.option_name} behöver ett värde"
        return f"{where}{swedish(exc.message)}"
    if isinstance(exc, click.MissingParameter):
        return f"{where}{_param(exc)} saknas{helps}"
    if isinstance(exc, click.BadParameter):
        return f"{where}{_param(exc)}: {swedish(exc.message)}"
    if isinstance(exc, click.UsageError):
        return f"{where}{swedish(exc.message)}"
    return " ".join(swedish(exc.format_message()).split())


def _path(ctx: click.Context) -> str:
    return ctx.command_path.removeprefix("synpunkt ")


def _param(exc: click.BadParameter) -> str:
    if isinstance(exc.param_hint, str):
        return exc.param_hint
    param = exc.param
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    if param is not None:
        return param.human_readable_name
    return "värdet"


def _maybe(possibilities: list[str] | None) -> str:
    if not possibilities:
        return ""
    return f" (menade du {' eller '.join(sorted(possibilities))}?)"
