"""case numbers: work_order.case_number (C + day + daily sequence) with a per-day counter, backfilled in order of
creation; emergency_meeting.work_order_id (the order that tracks an emergency to closure)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:00:00

The backfill takes the day in CAREDESK_DISPLAY_TIMEZONE (default Asia/Shanghai), as the application does.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill() -> None:
    zone = ZoneInfo(os.environ.get('CAREDESK_DISPLAY_TIMEZONE') or 'Asia/Shanghai')
    bind = op.get_bind()
    order = sa.table('work_order', sa.column('id', sa.String), sa.column('case_number', sa.String),
                     sa.column('created_at', sa.DateTime(timezone=True)))
    counter = sa.table('case_counter', sa.column('day', sa.String), sa.column('last', sa.Integer))
    rows = bind.execute(sa.select(order.c.id, order.c.created_at).where(order.c.case_number.is_(None))
                        .order_by(order.c.created_at, order.c.id)).all()
    last: dict[str, int] = {}
    for order_id, created in rows:
        if isinstance(created, str):  # SQLite without type information
            created = datetime.fromisoformat(created)
        when = created if created.tzinfo else created.replace(tzinfo=UTC)
        day = f"{when.astimezone(zone):%Y%m%d}"
        last[day] = last.get(day, 0) + 1
        bind.execute(order.update().where(order.c.id == order_id)
                     .values(case_number=f"C{day}-{last[day]:04d}"))
    for day, count in last.items():
        bind.execute(counter.insert().values(day=day, last=count))


def upgrade() -> None:
    op.create_table('case_counter',
                    sa.Column('day', sa.String(length=8), nullable=False),
                    sa.Column('last', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('day', name=op.f('pk_case_counter')))
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_number', sa.String(length=24), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_work_order_case_number'), ['case_number'])
    with op.batch_alter_table('emergency_meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_order_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_emergency_meeting_work_order_id'), ['work_order_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_emergency_meeting_work_order_id_work_order'), 'work_order',
                                    ['work_order_id'], ['id'])
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table('emergency_meeting', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_emergency_meeting_work_order_id_work_order'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_emergency_meeting_work_order_id'))
        batch_op.drop_column('work_order_id')
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_work_order_case_number'), type_='unique')
        batch_op.drop_column('case_number')
    op.drop_table('case_counter')
