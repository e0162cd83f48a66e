"""mail_message: inbound e-mails' threading headers, subject and attachments

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-11 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'mail_message',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('account', sa.String(length=64), nullable=False),
        sa.Column('header_id', sa.String(length=255), nullable=False),
        sa.Column('in_reply_to', sa.String(length=255), nullable=True),
        sa.Column('reference_ids', sa.JSON(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('attachments', sa.JSON(), nullable=False),
        sa.Column('notes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'], name='fk_mail_message_message_id_message',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name='fk_mail_message_conversation_id_conversation', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_mail_message'),
        sa.UniqueConstraint('message_id', name='uq_mail_message_message_id'),
    )
    op.create_index('ix_mail_message_conversation_id', 'mail_message', ['conversation_id'], unique=False)
    op.create_index('ix_mail_message_header_id', 'mail_message', ['header_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_mail_message_header_id', table_name='mail_message')
    op.drop_index('ix_mail_message_conversation_id', table_name='mail_message')
    op.drop_table('mail_message')
