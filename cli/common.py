"""What every command that touches the register does first."""

from __future__ import annotations

import click

from cases.migrate import current_revision, head_revision, upgrade
from service.app import App, build_app


def open_app() -> App:
    """Build the app; the embedded SQLite schema is created or upgraded on the
    spot, a server database must have been upgraded with ``synpunkt db upgrade``."""
    app = build_app()
    if app.engine.dialect.name == "sqlite":
        upgrade(app.engine)
    elif current_revision(app.engine) != head_revision():
        raise click.ClickException(
            "databasen har inte senaste schemat; kör först: synpunkt db upgrade"
        )
    return app
