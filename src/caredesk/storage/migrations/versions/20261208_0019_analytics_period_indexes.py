"""indexes for analytics periods: message.created_at, work_order.resolved_at, satisfaction_survey.answered_at

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_message_created_at', 'message', ['created_at'])
    op.create_index('ix_work_order_resolved_at', 'work_order', ['resolved_at'])
    op.create_index('ix_satisfaction_survey_answered_at', 'satisfaction_survey', ['answered_at'])


def downgrade() -> None:
    op.drop_index('ix_satisfaction_survey_answered_at', table_name='satisfaction_survey')
    op.drop_index('ix_work_order_resolved_at', table_name='work_order')
    op.drop_index('ix_message_created_at', table_name='message')
