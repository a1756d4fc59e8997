"""``--help`` in Swedish: Click writes the commands' and options' own texts
(Swedish in the code) inside its English frame ("Usage:", "Options:",
"Show this message and exit.", "[default: …]"); this formatter writes the
frame in Swedish. ``swedish_help`` puts it on every command of the tree."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import click

SECTIONS = {"Options": "Flaggor", "Commands": "Kommandon", "Arguments": "Argument"}
PHRASES = (("Show this message and exit.", "Visa den här hjälpen och avsluta."),
           ("[default: ", "[standard: "), ("[required]", "[krävs]"),
           ("[env var: ", "[miljövariabel: "))


class SwedishFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Användning: " if prefix is None else prefix)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(SECTIONS.get(name, name)):
            yield

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30,
                 col_spacing: int = 2) -> None:
        super().write_dl([(term, _swedish(text)) for term, text in rows], col_max,
                         col_spacing)


def _swedish(text: str) -> str:
    for english, swedish in PHRASES:
        text = text.replace(english, swedish)
    return text


class SwedishContext(click.Context):
    formatter_class = SwedishFormatter


def swedish_help(command: click.Command) -> None:
    """The Swedish frame for ``command`` and every command under it."""
    command.context_class = SwedishContext
    command.options_metavar = "[FLAGGOR]"
    if isinstance(command, click.Group):
        command.subcommand_metavar = "KOMMANDO [ARGUMENT]..."
        for sub in command.commands.values():
            swedish_help(sub)
