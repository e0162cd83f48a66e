"""analytics: hourly work-order figures (analytics_order_hour); indexes for a period's reads: message.created_at,
work_order.resolved_at, satisfaction_survey.answered_at, analytics_hourly by dimension and hour

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ('resolved', 'reopened', 'first_contact', 'with_sla', 'breached', 'surveys', 'rating_sum', 'satisfied')


def upgrade() -> None:
    op.create_table(
        'analytics_order_hour',
        sa.Column('hour_start', sa.DateTime(timezone=True), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('hour_start', name='pk_analytics_order_hour'),
    )
    op.create_index('ix_analytics_hourly_dimension_hour', 'analytics_hourly',
                    ['dimension', 'hour_start', 'value', 'messages'])
    op.create_index('ix_message_created_at', 'message', ['created_at'])
    op.create_index('ix_work_order_resolved_at', 'work_order', ['resolved_at'])
    op.create_index('ix_satisfaction_survey_answered_at', 'satisfaction_survey', ['answered_at'])


def downgrade() -> None:
    op.drop_index('ix_satisfaction_survey_answered_at', table_name='satisfaction_survey')
    op.drop_index('ix_work_order_resolved_at', table_name='work_order')
    op.drop_index('ix_message_created_at', table_name='message')
    op.drop_index('ix_analytics_hourly_dimension_hour', table_name='analytics_hourly')
    op.drop_table('analytics_order_hour')
