"""work_order.due_at renamed next_due_at: when the order is next due in its flow, set at opening and brought
forward by a step's timer (each SLA target's own due time is computed, never stored). The column has no index;
the values are kept both ways.

`recreate="never"`: SQLite renames the column in place (ALTER TABLE ... RENAME COLUMN, SQLite 3.25+). Copying
the table instead would drop `work_order` under the rows that refer to it, which fails when the engine turns
foreign keys on (`storage/db.py`, the one `caredesk db upgrade` uses).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('work_order', schema=None, recreate='never') as batch_op:
        batch_op.alter_column('due_at', new_column_name='next_due_at')


def downgrade() -> None:
    with op.batch_alter_table('work_order', schema=None, recreate='never') as batch_op:
        batch_op.alter_column('next_due_at', new_column_name='due_at')
