"""staff login places: the networks each staff member signs in from

Unusual sign-ins (a new network, or outside office hours) freeze the account; this is the history they are
judged against. Existing accounts start empty and learn their places in their first sign-ins.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 23:34:14.621953
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('staff_login_place',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sign_ins', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_login_place_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_login_place')),
    sa.UniqueConstraint('staff_id', 'network', name='uq_staff_login_place_network')
    )


def downgrade() -> None:
    op.drop_table('staff_login_place')
