"""restricted and priority on cases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restricted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('priority', sa.String(length=20), nullable=False,
                                      server_default='normal'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('priority')
        batch_op.drop_column('restricted')
