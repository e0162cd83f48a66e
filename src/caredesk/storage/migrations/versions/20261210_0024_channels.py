"""channel_contact, message_delivery, channel_inbound_key, conversation.contact_id: customers on outside channels

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-10 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'channel_contact',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('account', sa.String(length=64), nullable=False),
        sa.Column('address', sa.Text(), nullable=False),
        sa.Column('address_hash', sa.String(length=64), nullable=False),
        sa.Column('customer_id', sa.String(length=32), nullable=False),
        sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name='fk_channel_contact_customer_id_customer',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_channel_contact'),
        sa.UniqueConstraint('channel', 'account', 'address_hash', name='uq_channel_contact_address'),
    )
    op.create_index('ix_channel_contact_customer_id', 'channel_contact', ['customer_id'], unique=False)
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('contact_id', sa.String(length=32), nullable=True))
        batch.create_foreign_key('fk_conversation_contact_id_channel_contact', 'channel_contact', ['contact_id'],
                                 ['id'], ondelete='SET NULL')
    op.create_table(
        'message_delivery',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('receipt_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'], name='fk_message_delivery_message_id_message',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name='fk_message_delivery_conversation_id_conversation', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_message_delivery'),
        sa.UniqueConstraint('message_id', name='uq_message_delivery_message_id'),
    )
    op.create_index('ix_message_delivery_conversation_id', 'message_delivery', ['conversation_id'], unique=False)
    op.create_index('ix_message_delivery_external', 'message_delivery', ['channel', 'external_id'], unique=False)
    op.create_table(
        'channel_inbound_key',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('external_id', sa.String(length=255), nullable=False),
        sa.Column('message_id', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'], name='fk_channel_inbound_key_message_id_message',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_channel_inbound_key'),
        sa.UniqueConstraint('channel', 'external_id', name='uq_channel_inbound_key_channel'),
    )


def downgrade() -> None:
    op.drop_table('channel_inbound_key')
    op.drop_index('ix_message_delivery_external', table_name='message_delivery')
    op.drop_index('ix_message_delivery_conversation_id', table_name='message_delivery')
    op.drop_table('message_delivery')
    with op.batch_alter_table('conversation') as batch:
        batch.drop_constraint('fk_conversation_contact_id_channel_contact', type_='foreignkey')
        batch.drop_column('contact_id')
    op.drop_index('ix_channel_contact_customer_id', table_name='channel_contact')
    op.drop_table('channel_contact')
