"""Notice claims: every queued notice is claimed (a lease and an attempt count) in a short transaction, sent
with no transaction open, and recorded in a new one (tasks/notice.py). A claim column on each notice table,
an attempt count where there was none, and incident_record.customer_emailed_at (the outcome e-mail was marked
only by an audit entry; filled from those entries here).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (claim column, attempt-count column it gains or None)
_CLAIMS = {
    'meeting_participant': ('email_claimed_until', None),
    'alarm_delivery': ('claimed_until', None),
    'work_order_sla_mark': ('email_claimed_until', None),
    'work_order_duty_handoff': ('email_claimed_until', None),
    'satisfaction_survey': ('claimed_until', 'attempts'),
    'message': ('email_claimed_until', 'email_attempts'),
    'incident_record': ('customer_email_claimed_until', 'customer_email_attempts'),
}


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): SQLite would drop the rows that refer to a copied table
    for table, (claim, attempts) in _CLAIMS.items():
        op.add_column(table, sa.Column(claim, sa.DateTime(timezone=True), nullable=True))
        if attempts:
            op.add_column(table, sa.Column(attempts, sa.Integer(), nullable=False, server_default=sa.text('0')))
    op.add_column('incident_record', sa.Column('customer_emailed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE incident_record SET customer_emailed_at = (SELECT min(a.at) FROM audit_entry a"
        " WHERE a.object_type = 'incident_record' AND a.object_id = incident_record.id"
        " AND a.action = 'incident.customer_emailed')")


def downgrade() -> None:
    with op.batch_alter_table('incident_record', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('customer_emailed_at')
    for table, (claim, attempts) in _CLAIMS.items():
        with op.batch_alter_table(table, schema=None, recreate='never') as batch_op:
            if attempts:
                batch_op.drop_column(attempts)
            batch_op.drop_column(claim)
