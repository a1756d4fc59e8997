"""``synpunkt db``: the database schema."""

from __future__ import annotations

import click

from cases.migrate import upgrade
from service.app import build_app


@click.group()
def db() -> None:
    """Databasens schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Uppgradera databasen till senaste schemat (Alembic). Säker att köra flera gånger."""
    app = build_app()
    upgrade(app.engine)
    click.echo(f"Databasen är uppgraderad: {app.engine.url.render_as_string(hide_password=True)}")
