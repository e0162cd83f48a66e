"""customer identity fields: ID number, bank card and address encrypted, ID number and card keyed hashes

All three are new and empty; values are written encrypted by the application (no data to convert).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('bank_card', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('address', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('id_number_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('bank_card_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_id_number_hash'), ['id_number_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_bank_card_hash'), ['bank_card_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_bank_card_hash'))
        batch_op.drop_index(batch_op.f('ix_customer_id_number_hash'))
        batch_op.drop_column('bank_card_hash')
        batch_op.drop_column('id_number_hash')
        batch_op.drop_column('address')
        batch_op.drop_column('bank_card')
        batch_op.drop_column('id_number')
