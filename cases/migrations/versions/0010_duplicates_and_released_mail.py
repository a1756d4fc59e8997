"""inbound_fingerprint for mail that arrives twice; inbound.released for mail
the registrator let through

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 03:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'inbound_fingerprint',
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('inbound_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound.id'],
                                name=op.f('fk_inbound_fingerprint_inbound_id_inbound')),
        sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_inbound_fingerprint')),
    )
    with op.batch_alter_table('inbound_fingerprint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_fingerprint_inbound_id'), ['inbound_id'],
                              unique=False)
    op.add_column('inbound', sa.Column('released', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('inbound', schema=None) as batch_op:
        batch_op.drop_column('released')
    with op.batch_alter_table('inbound_fingerprint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_fingerprint_inbound_id'))
    op.drop_table('inbound_fingerprint')
