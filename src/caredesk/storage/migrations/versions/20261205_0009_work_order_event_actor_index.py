"""work-order events by actor: the orders a staff member has worked on stay visible to them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 00:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_work_order_event_actor', 'work_order_event', ['actor', 'work_order_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_work_order_event_actor', table_name='work_order_event')
