"""webhook_subscription, webhook_event, webhook_delivery: outgoing event webhooks and their delivery log

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-11 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'webhook_subscription',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('include_personal_data', sa.Boolean(), nullable=False),
        sa.Column('consecutive_failures', sa.Integer(), nullable=False),
        sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('disabled_reason', sa.String(length=300), nullable=True),
        sa.Column('notice_emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('notice_claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_webhook_subscription'),
    )
    op.create_table(
        'webhook_event',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('personal', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_webhook_event'),
    )
    op.create_index('ix_webhook_event_created', 'webhook_event', ['created_at'], unique=False)
    op.create_table(
        'webhook_delivery',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('subscription_id', sa.String(length=32), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('response_code', sa.Integer(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('replays', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscription.id'],
                                name='fk_webhook_delivery_subscription_id_webhook_subscription', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['webhook_event.id'], name='fk_webhook_delivery_event_id_webhook_event',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_webhook_delivery'),
        sa.UniqueConstraint('subscription_id', 'event_id', name='uq_webhook_delivery_subscription_event'),
    )
    op.create_index('ix_webhook_delivery_event_id', 'webhook_delivery', ['event_id'], unique=False)
    op.create_index('ix_webhook_delivery_due', 'webhook_delivery', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_delivery_due', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_event_id', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_index('ix_webhook_event_created', table_name='webhook_event')
    op.drop_table('webhook_event')
    op.drop_table('webhook_subscription')
