"""trigram indexes for the lists' free-text search (PostgreSQL only)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:30:00

cases.search finds a word anywhere in the diarienummer, the subject, the
text or the sender (``lower(column) LIKE '%word%'``). On PostgreSQL, GIN
trigram indexes on those expressions answer that without reading every
case (20,000 cases: a search from about 300 ms to under 100 ms a page).
pg_trgm is a trusted extension: the database's owner may create it. Where
it cannot be created, the upgrade goes on without the indexes (search
works, only slower) and says so; running the upgrade again after
``CREATE EXTENSION pg_trgm`` does not add them (drop to 0011 and upgrade).
SQLite reads its small registers whole and gets nothing here.
"""
import logging
from typing import Sequence, Union

from alembic import op
from sqlalchemy.exc import DBAPIError

# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = [  # as cases.models.TRIGRAM_INDEXES declares them
    ("ix_case_diarienummer_trgm", "case", "lower(diarienummer)"),
    ("ix_case_subject_trgm", "case", "lower(subject)"),
    ("ix_case_text_trgm", "case", "lower(text)"),
    ("ix_contact_email_trgm", "contact", "lower(email)"),
    ("ix_contact_name_trgm", "contact", "lower(name)"),
    ("ix_contact_phone_trgm", "contact", "phone"),
]


def upgrade() -> None:
    """Upgrade schema."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a savepoint: a refusal leaves the upgrade going
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as exc:
        logging.getLogger("alembic").warning(
            "pg_trgm kunde inte skapas (%s): fritextsökningen fungerar men utan index",
            str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
        return
    for name, table, expression in INDEXES:
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" '
                   f"USING gin (({expression}) gin_trgm_ops)")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
