"""history import: message.import_key (refuses a row imported before), conversation.import_ref

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('import_key', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_message_import_key', ['import_key'])
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('import_ref', sa.String(length=140), nullable=True))
        batch.create_index('ix_conversation_customer_import_ref', ['customer_id', 'import_ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.drop_index('ix_conversation_customer_import_ref')
        batch.drop_column('import_ref')
    with op.batch_alter_table('message') as batch:
        batch.drop_constraint('uq_message_import_key', type_='unique')
        batch.drop_column('import_key')
