"""gallring: event.gallrad_at, and the one audited exception to the append-only log

The audit log stays append-only with one narrow exception: gallring may
replace an event's ``detail`` once, and must set ``gallrad_at`` when it does.
Every other column must stay as it was; DELETE is still refused, and so is
any change to an event that is already gallrad.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 03:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Columns gallring must leave exactly as they were.
_FIXED = ("id", "at", "actor", "kind", "case_id", "inbound_id", "outbox_id")

_SQLITE_ONLY_GALLRING = (
    "CREATE TRIGGER event_no_update BEFORE UPDATE ON event "
    "WHEN NOT (OLD.gallrad_at IS NULL AND NEW.gallrad_at IS NOT NULL AND "
    + " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _FIXED)
    + ") BEGIN SELECT RAISE(ABORT, 'event is append-only (gallring may replace detail once)'); "
    "END"
)
_PG_ONLY_GALLRING = (
    "CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND OLD.gallrad_at IS NULL AND NEW.gallrad_at IS NOT NULL AND "
    + " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _FIXED)
    + " THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'event is append-only (gallring may replace detail once)'; END $$"
)
_PG_STRICT = (
    "CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'event is append-only'; END $$"
)
_PG_TRIGGER = (
    "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
    "FOR EACH ROW EXECUTE FUNCTION event_append_only()"
)


def upgrade() -> None:
    """Upgrade schema."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS event_no_update")
        # A plain ALTER TABLE ADD COLUMN: no table rebuild, the DELETE trigger stays.
        op.execute("ALTER TABLE event ADD COLUMN gallrad_at DATETIME")
        op.execute(_SQLITE_ONLY_GALLRING)
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS event_append_only ON event")
        op.execute("DROP FUNCTION IF EXISTS event_append_only()")
        op.add_column('event', sa.Column('gallrad_at', sa.DateTime(timezone=True),
                                         nullable=True))
        op.execute(_PG_ONLY_GALLRING)
        op.execute(_PG_TRIGGER)
    else:  # no triggers on other backends (none are supported)
        op.add_column('event', sa.Column('gallrad_at', sa.DateTime(timezone=True),
                                         nullable=True))


def downgrade() -> None:
    """Downgrade schema: the strict triggers of 0001 again. Details already
    gallrad keep their marker; the case.gallrad events stay."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS event_no_update")
        op.execute("DROP TRIGGER IF EXISTS event_no_delete")
        op.execute("ALTER TABLE event DROP COLUMN gallrad_at")
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER event_no_{action.lower()} BEFORE {action} ON event "
                "BEGIN SELECT RAISE(ABORT, 'event is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS event_append_only ON event")
        op.execute("DROP FUNCTION IF EXISTS event_append_only()")
        op.drop_column('event', 'gallrad_at')
        op.execute(_PG_STRICT)
        op.execute(_PG_TRIGGER)
    else:
        op.drop_column('event', 'gallrad_at')
