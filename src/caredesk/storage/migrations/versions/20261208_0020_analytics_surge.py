"""analytics_surge: surges of a series above its expected hourly level, their lifecycle and report

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status IN ('open', 'acknowledged')")


def upgrade() -> None:
    op.create_table(
        'analytics_surge',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=64), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('observed', sa.Integer(), nullable=False),
        sa.Column('expected', sa.Float(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=32), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['acknowledged_by'], ['staff.id'],
                                name='fk_analytics_surge_acknowledged_by_staff'),
        sa.PrimaryKeyConstraint('id', name='pk_analytics_surge'),
    )
    op.create_index('ix_analytics_surge_detected_at', 'analytics_surge', ['detected_at'])
    op.create_index('uq_analytics_surge_active', 'analytics_surge', ['dimension', 'value'], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)


def downgrade() -> None:
    op.drop_index('uq_analytics_surge_active', table_name='analytics_surge')
    op.drop_index('ix_analytics_surge_detected_at', table_name='analytics_surge')
    op.drop_table('analytics_surge')
