"""work orders: routing, SLA state, surveys, callbacks, links, macros

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:55:52.872613
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get server defaults for the new non-null columns.
    op.create_table('macro',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('title_zh', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('body_zh', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_macro')),
    sa.UniqueConstraint('code', name=op.f('uq_macro_code'))
    )
    op.create_table('callback_task',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('work_order_id', sa.String(length=32), nullable=False),
    sa.Column('assignee_id', sa.String(length=32), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], name=op.f('fk_callback_task_assignee_id_staff')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_callback_task_work_order_id_work_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_task'))
    )
    with op.batch_alter_table('callback_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_task_work_order_id'), ['work_order_id'], unique=False)

    op.create_table('satisfaction_survey',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('work_order_id', sa.String(length=32), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_satisfaction_survey_work_order_id_work_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_survey')),
    sa.UniqueConstraint('token', name=op.f('uq_satisfaction_survey_token')),
    sa.UniqueConstraint('work_order_id', name=op.f('uq_satisfaction_survey_work_order_id'))
    )
    op.create_table('work_order_link',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('work_order_id', sa.String(length=32), nullable=False),
    sa.Column('other_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['other_id'], ['work_order.id'], name=op.f('fk_work_order_link_other_id_work_order')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_work_order_link_work_order_id_work_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_link')),
    sa.UniqueConstraint('work_order_id', 'other_id', 'kind', name='uq_work_order_link')
    )
    with op.batch_alter_table('work_order_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_order_link_work_order_id'), ['work_order_id'], unique=False)

    op.create_table('work_order_sla_mark',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('work_order_id', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_work_order_sla_mark_staff_id_staff')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_work_order_sla_mark_work_order_id_work_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_sla_mark')),
    sa.UniqueConstraint('work_order_id', 'target', 'kind', name='uq_sla_mark_order_target_kind')
    )
    with op.batch_alter_table('skill_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('strategy', sa.String(length=16), nullable=False, server_default='skills'))

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('customer_tier', sa.String(length=32), nullable=False, server_default='standard'))
        batch_op.add_column(sa.Column('category', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('skills', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('fields', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('step_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_policy', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sla_next_check_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('awaiting_reply_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_work_order_sla_next_check_at', ['sla_next_check_at'], unique=False)
        batch_op.create_index('ix_work_order_waiting', ['skill_group_id', 'queued_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_work_order_merged_into_id_work_order'), 'work_order', ['merged_into_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_work_order_merged_into_id_work_order'), type_='foreignkey')
        batch_op.drop_index('ix_work_order_waiting')
        batch_op.drop_index('ix_work_order_sla_next_check_at')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('awaiting_reply_since')
        batch_op.drop_column('first_response_at')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('sla_next_check_at')
        batch_op.drop_column('sla_policy')
        batch_op.drop_column('step_started_at')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('queued_at')
        batch_op.drop_column('fields')
        batch_op.drop_column('skills')
        batch_op.drop_column('category')
        batch_op.drop_column('customer_tier')
        batch_op.drop_column('language')
        batch_op.drop_column('channel')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('last_assigned_at')

    with op.batch_alter_table('skill_group', schema=None) as batch_op:
        batch_op.drop_column('strategy')

    op.drop_table('work_order_sla_mark')
    with op.batch_alter_table('work_order_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_order_link_work_order_id'))

    op.drop_table('work_order_link')
    op.drop_table('satisfaction_survey')
    with op.batch_alter_table('callback_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_task_work_order_id'))

    op.drop_table('callback_task')
    op.drop_table('macro')
