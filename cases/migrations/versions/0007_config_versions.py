"""versions of configuration files saved from the web

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'config_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('file', sa.String(length=100), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('saved_by', sa.String(length=320), nullable=False),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_config_version')),
    )
    with op.batch_alter_table('config_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_config_version_file'), ['file'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('config_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_config_version_file'))
    op.drop_table('config_version')
