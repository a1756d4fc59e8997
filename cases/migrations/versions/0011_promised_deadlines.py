"""deadline.promised: a deadline promised to the sender, or the verksamhet's own

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 07:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('deadline', sa.Column('promised', sa.Boolean(), nullable=False,
                                        server_default=sa.true()))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('promised')
