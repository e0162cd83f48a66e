"""Alarms raised when a conversation's complaints escalate, their lifecycle events and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class Alarm(Base):
    """One alarm per escalation of a conversation (de-duplicated while open)."""

    __tablename__ = "alarm"
    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # alarms/alarm_status.py AlarmStatus
    level: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    message_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    # The strategy level whose people have been told (0 = first); escalate_at is when the next one is due.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    # Probability that the conversation ends in an external complaint, with its named reasons.
    forecast_probability: Mapped[float | None] = mapped_column(Float)
    forecast: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AlarmEvent(Base):
    """Append-only log of an alarm: raised, delivered, escalated, acknowledged, assigned, resolved."""

    __tablename__ = "alarm_event"
    id: Mapped[str] = id_column()
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarm.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = created_column()


class AlarmDelivery(Base):
    """One notice of an alarm to one recipient over one channel, with its attempts (retried on failure)."""

    __tablename__ = "alarm_delivery"
    __table_args__ = (UniqueConstraint("alarm_id", "level", "channel", "recipient", name="uq_alarm_delivery_target"),)
    id: Mapped[str] = id_column()
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarm.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # in_app | email | sms | webhook
    recipient: Mapped[str] = mapped_column(String(64))  # a staff id, or the webhook's name
    address: Mapped[str] = mapped_column(String(500), default="")  # e-mail, phone or webhook URL
    status: Mapped[str] = mapped_column(String(16), default="pending")  # alarms/delivery_status.py
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())  # held by quiet hours until then
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tasks/notice.py
    created_at: Mapped[datetime] = created_column()
