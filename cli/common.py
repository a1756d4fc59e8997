"""What every command that touches the register does first."""

from __future__ import annotations

import click

from cases.migrate import at_head, upgrade
from cases.models import Case
from cases.search import find_by_reference
from cli.errors import DatabaseStateError, UnknownIdError
from config.settings import Settings
from service.app import App, build_app

REFERENCE = "ID_ELLER_DIARIENUMMER"


def _joined(_ctx: click.Context, _param: click.Parameter, words: tuple[str, ...]) -> str:
    return " ".join(" ".join(words).split())


# A case named by its id or its diarienummer, quoted or not (EKBY 2026/0003).
case_reference = click.argument("reference", nargs=-1, required=True, metavar=REFERENCE,
                                callback=_joined)


def open_app() -> App:
    """Build the app; the embedded SQLite schema is created or upgraded on the
    spot, a server database must have been upgraded with ``synpunkt db upgrade``.
    A new, empty embedded register says where it is (one line on stderr):
    the home is SYNPUNKT_HOME, by default ./var in the current folder."""
    settings = Settings()
    new = not settings.database_url and not settings.sqlite_path.exists()
    app = build_app(settings)
    if app.engine.dialect.name == "sqlite":
        if not at_head(app.engine):
            upgrade(app.engine)
        if new:
            click.echo(f"Nytt tomt register: {app.settings.sqlite_path.resolve()} "
                       "(SYNPUNKT_HOME väljer en annan katalog).", err=True)
    elif not at_head(app.engine):
        raise DatabaseStateError(
            "databasen har inte senaste schemat; kör först: synpunkt db upgrade"
        )
    return app


def find_case_id(app: App, reference: str) -> int:
    """The id of the case ``reference`` names: its id ("42") or its
    diarienummer ("EKBY 2026/0003", "2026/3"). Unknown: exit 5."""
    with app.sessions() as session:
        return find_case(find_by_reference(session, reference), reference).id


def find_case(case: Case | None, reference: str) -> Case:
    if case is None:
        raise UnknownIdError(f"ärende {' '.join(reference.split())} finns inte")
    return case
