"""label corrections and triage training runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('label_correction',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.String(length=32), nullable=False),
    sa.Column('head', sa.String(length=32), nullable=False),
    sa.Column('old_label', sa.String(length=64), nullable=False),
    sa.Column('new_label', sa.String(length=64), nullable=False),
    sa.Column('text_masked', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('staff_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_label_correction_message_id_message')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_label_correction_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_correction'))
    )
    with op.batch_alter_table('label_correction', schema=None) as batch_op:
        batch_op.create_index('ix_label_correction_created', ['created_at'], unique=False)
        batch_op.create_index('ix_label_correction_message_head', ['message_id', 'head', 'created_at'], unique=False)

    op.create_table('triage_training_run',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('candidate_version', sa.String(length=64), nullable=False),
    sa.Column('active_version', sa.String(length=64), nullable=True),
    sa.Column('promoted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('n_corrections', sa.Integer(), nullable=False),
    sa.Column('candidate_metrics', sa.JSON(), nullable=False),
    sa.Column('active_metrics', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_training_run'))
    )
    with op.batch_alter_table('triage_training_run', schema=None) as batch_op:
        batch_op.create_index('ix_triage_training_run_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('triage_training_run', schema=None) as batch_op:
        batch_op.drop_index('ix_triage_training_run_created')
    op.drop_table('triage_training_run')
    with op.batch_alter_table('label_correction', schema=None) as batch_op:
        batch_op.drop_index('ix_label_correction_message_head')
        batch_op.drop_index('ix_label_correction_created')
    op.drop_table('label_correction')
