"""customer_profile, customer_source_record, profile_training_run: learned customer profiles, outside sources' fields, profile model trainings

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-09 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'customer_profile',
        sa.Column('customer_id', sa.String(length=32), nullable=False),
        sa.Column('features', sa.JSON(), nullable=False),
        sa.Column('value_score', sa.Float(), nullable=True),
        sa.Column('loyalty_score', sa.Float(), nullable=True),
        sa.Column('escalation_risk', sa.Float(), nullable=True),
        sa.Column('segment', sa.String(length=64), nullable=True),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('drivers', sa.JSON(), nullable=False),
        sa.Column('emotion_current', sa.String(length=16), nullable=True),
        sa.Column('emotion_trend', sa.String(length=16), nullable=True),
        sa.Column('model_version', sa.String(length=64), nullable=True),
        sa.Column('features_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name='fk_customer_profile_customer_id_customer',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('customer_id', name='pk_customer_profile'),
    )
    op.create_index('ix_customer_profile_segment', 'customer_profile', ['segment'], unique=False)
    op.create_table(
        'customer_source_record',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('customer_id', sa.String(length=32), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                                name='fk_customer_source_record_customer_id_customer', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_customer_source_record'),
        sa.UniqueConstraint('customer_id', 'source', name='uq_customer_source_record_customer_id'),
    )
    op.create_index('ix_customer_source_record_customer_id', 'customer_source_record', ['customer_id'],
                    unique=False)
    op.create_table(
        'profile_training_run',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('candidate_version', sa.String(length=64), nullable=False),
        sa.Column('active_version', sa.String(length=64), nullable=True),
        sa.Column('promoted', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('candidate_metrics', sa.JSON(), nullable=False),
        sa.Column('active_metrics', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_profile_training_run'),
    )
    op.create_index('ix_profile_training_run_created', 'profile_training_run', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_profile_training_run_created', table_name='profile_training_run')
    op.drop_table('profile_training_run')
    op.drop_index('ix_customer_source_record_customer_id', table_name='customer_source_record')
    op.drop_table('customer_source_record')
    op.drop_index('ix_customer_profile_segment', table_name='customer_profile')
    op.drop_table('customer_profile')
