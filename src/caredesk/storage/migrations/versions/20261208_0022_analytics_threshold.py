"""analytics_threshold_state, analytics_threshold_notice: threshold alert rule states and their notices (e-mail, SMS, webhook)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'analytics_threshold_state',
        sa.Column('rule', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_value', sa.Float(), nullable=True),
        sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('rule', name='pk_analytics_threshold_state'),
    )
    op.create_table(
        'analytics_threshold_notice',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('rule', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=64), nullable=False),
        sa.Column('staff_id', sa.String(length=32), nullable=True),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.String(length=2000), nullable=False),
        sa.Column('value', sa.Float(), nullable=True),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                                name='fk_analytics_threshold_notice_staff_id_staff'),
        sa.PrimaryKeyConstraint('id', name='pk_analytics_threshold_notice'),
    )
    op.create_index('ix_analytics_threshold_notice_rule', 'analytics_threshold_notice', ['rule'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_analytics_threshold_notice_rule', table_name='analytics_threshold_notice')
    op.drop_table('analytics_threshold_notice')
    op.drop_table('analytics_threshold_state')
