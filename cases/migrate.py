"""Alembic, driven from code: ``synpunkt db upgrade`` and the embedded start-up.

Whether the schema is at head is asked without Alembic (``at_head``): every
command that opens the register asks it, and Alembic, its DDL modules and
the migration scripts cost a tenth to a sixth of a short command's start.
Alembic is imported only when there is something to upgrade."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, String, column, inspect, select, table

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        version = column("version_num", String)
        found: str | None = connection.execute(
            select(version).select_from(table(VERSION_TABLE))).scalar()
        return found


def head_revision() -> str:
    """The newest migration's revision. The history is one line, and each
    script is named by its revision (``0012_trigram_search.py`` is ``0012``):
    the highest number is the head. tests/integration/test_register.py holds
    it equal to what Alembic reads from the scripts."""
    return max(path.name.split("_", 1)[0] for path in VERSIONS.glob("[0-9]*_*.py"))


def at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
