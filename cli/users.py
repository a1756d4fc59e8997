"""``synpunkt users``: who may log in to the web application, with which role."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from cases.models import User
from cli.common import open_app
from cli.output import echo_json, table
from cli.params import OneOf
from config.words import Words
from review.access import Role
from review.users import UserError, put_user


@click.group()
def users() -> None:
    """Användare i webbapplikationen: registrator, chef (för en enhet) och admin."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=OneOf([r.value for r in Role]), required=True,
              help="registrator: alla ärenden; chef: den egna enhetens; admin: regler och rutiner.")
@click.option("--enhet", help="Chefens enhet (id i organisation.yaml); krävs för chef.")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Läs lösenordet (minst 12 tecken) från standard in, en rad.")
def add(email: str, role: str, enhet: str | None, password_stdin: bool) -> None:
    """Lägg till en användare, eller byt roll och lösenord för en som finns
    (alla hennes inloggningar avslutas då)."""
    if role == Role.CHEF and enhet is None:
        raise click.BadParameter("en chef behöver --enhet", param_hint="--enhet")
    app = open_app()
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with app.sessions.begin() as session:
            _user, created = put_user(session, app.kommun.organisation, email, role, enhet,
                                      password, "system:cli", app.clock())
    except UserError as exc:  # a bad address, role or enhet: exit 2
        raise click.UsageError(str(exc)) from None
    words = Words(app.kommun)
    click.echo(f"{'Lade till' if created else 'Ändrade'} {email.strip().lower()} ({role}"
               f"{', ' + words.enhet(enhet) if enhet else ''}).")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="En JSON-rad per användare.")
def list_users(as_json: bool) -> None:
    """Visa användarna och deras roller."""
    app = open_app()
    with app.sessions() as session:
        rows = list(session.scalars(select(User).order_by(User.email)))
    if as_json:
        for u in rows:
            echo_json({"email": u.email, "role": u.role, "enhet": u.enhet, "active": u.active,
                       "locked_until": u.locked_until})
        return
    words = Words(app.kommun)
    click.echo(table(["E-post", "Roll", "Enhet", "Aktiv"],
                     [[u.email, u.role, words.enhet(u.enhet) if u.enhet else "–",
                       "ja" if u.active else "nej"] for u in rows]))
