"""phone_call: calls taken in as conversations, by the telephony system's call id, with the recording reference

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-11 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'phone_call',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('call_id', sa.String(length=128), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.String(length=32), nullable=False),
        sa.Column('recording_ref', sa.String(length=500), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('segments', sa.Integer(), nullable=False),
        sa.Column('transcript_source', sa.String(length=16), nullable=False),
        sa.Column('truncated', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name='fk_phone_call_conversation_id_conversation', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'], name='fk_phone_call_message_id_message',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_phone_call'),
        sa.UniqueConstraint('call_id', name='uq_phone_call_call_id'),
    )
    op.create_index('ix_phone_call_conversation_id', 'phone_call', ['conversation_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_phone_call_conversation_id', table_name='phone_call')
    op.drop_table('phone_call')
