"""Linked emergency response: meetings, participants (notice and join state), incident records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class EmergencyMeeting(Base):
    """A war-room meeting gathered for an urgent message, with the problem's context."""

    __tablename__ = "emergency_meeting"
    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id"))
    # The work order that tracks the case to closure (opened with the meeting, or the one a lead confirmed from).
    work_order_id: Mapped[str | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    provider: Mapped[str] = mapped_column(String(32))
    room_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # emergency/meeting_status.py
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_column()
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    participants: Mapped[list[MeetingParticipant]] = relationship(
        lazy="selectin", order_by="MeetingParticipant.position"
    )


class MeetingParticipant(Base):
    """A person invited to a meeting: why, whether each notice went out, and when they joined."""

    __tablename__ = "meeting_participant"
    __table_args__ = (UniqueConstraint("meeting_id", "staff_id", name="uq_meeting_participant_staff"),)
    id: Mapped[str] = id_column()
    meeting_id: Mapped[str] = mapped_column(ForeignKey("emergency_meeting.id"), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    position: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    join_token: Mapped[str] = mapped_column(String(64), unique=True)
    email_status: Mapped[str] = mapped_column(String(16), default="pending")  # emergency/notice_status.py
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str | None] = mapped_column(String(500))
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tasks/notice.py
    inapp_status: Mapped[str] = mapped_column(String(16), default="pending")  # the same NoticeStatus
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IncidentRecord(Base):
    """The incident feedback form; completed by its recorders in order, it is the event record."""

    __tablename__ = "incident_record"
    id: Mapped[str] = id_column()
    meeting_id: Mapped[str] = mapped_column(ForeignKey("emergency_meeting.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # emergency/incident_status.py
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    current_position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_column()
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the outcome e-mailed to the customer (tasks/notice.py: claimed, sent, recorded)
    customer_emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_email_attempts: Mapped[int] = mapped_column(Integer, default=0)

    recorders: Mapped[list[IncidentRecorder]] = relationship(lazy="selectin", order_by="IncidentRecorder.position")


class IncidentRecorder(Base):
    """A recorder's turn on the form, in its configured order."""

    __tablename__ = "incident_recorder"
    __table_args__ = (UniqueConstraint("record_id", "position", name="uq_incident_recorder_position"),)
    id: Mapped[str] = id_column()
    record_id: Mapped[str] = mapped_column(ForeignKey("incident_record.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    section: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # incident_status.py RecorderStatus
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signature: Mapped[str | None] = mapped_column(String(64))  # SHA-256 over the section as signed


class IncidentEntry(Base):
    """What a recorder wrote in their section (append-only: a return adds, never overwrites)."""

    __tablename__ = "incident_entry"
    id: Mapped[str] = id_column()
    record_id: Mapped[str] = mapped_column(ForeignKey("incident_record.id"), index=True)
    recorder_id: Mapped[str] = mapped_column(ForeignKey("incident_recorder.id"))
    section: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="fill")  # fill | return (the reason for a return)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()


class IncidentRecordVersion(Base):
    """A frozen copy of the form at each signature; the last one, once locked, is the event record."""

    __tablename__ = "incident_record_version"
    __table_args__ = (UniqueConstraint("record_id", "version", name="uq_incident_record_version_number"),)
    id: Mapped[str] = id_column()
    record_id: Mapped[str] = mapped_column(ForeignKey("incident_record.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_column()
