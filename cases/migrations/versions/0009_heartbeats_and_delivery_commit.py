"""heartbeats of the long-running loops; outbox claims name their process and
the point of no return

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'heartbeat',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('process_id', sa.String(length=32), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.String(length=500), nullable=False),
        sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('success_within', sa.Float(), nullable=True),
        sa.Column('down_since', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_heartbeat')),
    )
    with op.batch_alter_table('heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_heartbeat_process_id'), ['process_id'],
                              unique=False)
    # Plain ADD COLUMNs (no table rebuild on SQLite).
    op.add_column('outbox', sa.Column('claimed_by', sa.String(length=32), nullable=True))
    op.add_column('outbox', sa.Column('committed_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('committed_at')
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_heartbeat_process_id'))
    op.drop_table('heartbeat')
