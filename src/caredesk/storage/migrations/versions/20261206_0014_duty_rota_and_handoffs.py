"""Duty rota and hand-offs: duty_shift (who leads on duty when), work_order.duty_lead_id and
work_order_duty_handoff (a high-risk order given to the lead on duty when nobody with capacity is present)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('duty_shift',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('starts', sa.String(length=5), nullable=False),
    sa.Column('ends', sa.String(length=5), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_duty_shift_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shift'))
    )
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shift_staff_id'), ['staff_id'], unique=False)

    op.create_table('work_order_duty_handoff',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('work_order_id', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_work_order_duty_handoff_staff_id_staff')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'],
                            name=op.f('fk_work_order_duty_handoff_work_order_id_work_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_duty_handoff'))
    )
    with op.batch_alter_table('work_order_duty_handoff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_order_duty_handoff_work_order_id'), ['work_order_id'], unique=False)

    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duty_lead_id', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_work_order_duty_lead_id_staff'), 'staff', ['duty_lead_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_work_order_duty_lead_id_staff'), type_='foreignkey')
        batch_op.drop_column('duty_lead_id')

    with op.batch_alter_table('work_order_duty_handoff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_order_duty_handoff_work_order_id'))

    op.drop_table('work_order_duty_handoff')
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_shift_staff_id'))

    op.drop_table('duty_shift')
