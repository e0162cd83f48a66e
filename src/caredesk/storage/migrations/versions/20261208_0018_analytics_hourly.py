"""analytics_hourly: hourly message roll-ups per dimension; triage_result.topic and .product

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ('messages', 'complaints', 'urgent', 'auto_answered', 'unanswered', 'handed_off', 'emergencies',
            'regulator')


def upgrade() -> None:
    op.create_table(
        'analytics_hourly',
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=64), nullable=False),
        sa.Column('hour_start', sa.DateTime(timezone=True), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS],
        sa.PrimaryKeyConstraint('dimension', 'value', 'hour_start', name='pk_analytics_hourly'),
    )
    with op.batch_alter_table('triage_result') as batch:
        batch.add_column(sa.Column('topic', sa.String(length=48), nullable=True))
        batch.add_column(sa.Column('product', sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('triage_result') as batch:
        batch.drop_column('product')
        batch.drop_column('topic')
    op.drop_table('analytics_hourly')
