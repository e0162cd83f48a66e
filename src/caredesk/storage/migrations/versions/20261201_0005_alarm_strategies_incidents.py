"""alarm strategies (events, deliveries, escalation, forecast) and the incident form workflow

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alarm_delivery',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('alarm_id', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_alarm_delivery_alarm_id_alarm')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_delivery')),
    sa.UniqueConstraint('alarm_id', 'level', 'channel', 'recipient', name='uq_alarm_delivery_target')
    )
    with op.batch_alter_table('alarm_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_delivery_alarm_id'), ['alarm_id'], unique=False)

    op.create_table('alarm_event',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('alarm_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_alarm_event_alarm_id_alarm')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_event'))
    )
    with op.batch_alter_table('alarm_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_event_alarm_id'), ['alarm_id'], unique=False)

    op.create_table('incident_record_version',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['incident_record.id'], name=op.f('fk_incident_record_version_record_id_incident_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_record_version')),
    sa.UniqueConstraint('record_id', 'version', name='uq_incident_record_version_number')
    )
    with op.batch_alter_table('incident_record_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_record_version_record_id'), ['record_id'], unique=False)

    # Existing rows get defaults: alarms raised before strategies are at level 0 with no forecast.
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('assigned_to', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('forecast_probability', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('forecast', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.create_foreign_key(batch_op.f('fk_alarm_resolved_by_staff'), 'staff', ['resolved_by'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_alarm_assigned_to_staff'), 'staff', ['assigned_to'], ['id'])

    with op.batch_alter_table('emergency_meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('incident_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='fill'))

    with op.batch_alter_table('incident_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_informed_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('incident_recorder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.String(length=64), nullable=True))

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('phone')

    with op.batch_alter_table('incident_recorder', schema=None) as batch_op:
        batch_op.drop_column('signature')

    with op.batch_alter_table('incident_record', schema=None) as batch_op:
        batch_op.drop_column('customer_informed_at')

    with op.batch_alter_table('incident_entry', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('emergency_meeting', schema=None) as batch_op:
        batch_op.drop_column('ended_at')

    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alarm_assigned_to_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_alarm_resolved_by_staff'), type_='foreignkey')
        batch_op.drop_column('forecast')
        batch_op.drop_column('forecast_probability')
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('assigned_to')
        batch_op.drop_column('escalate_at')
        batch_op.drop_column('escalation_level')

    with op.batch_alter_table('incident_record_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_record_version_record_id'))
    op.drop_table('incident_record_version')
    with op.batch_alter_table('alarm_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_event_alarm_id'))
    op.drop_table('alarm_event')
    with op.batch_alter_table('alarm_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_delivery_alarm_id'))
    op.drop_table('alarm_delivery')
