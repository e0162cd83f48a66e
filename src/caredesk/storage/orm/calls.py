"""Phone calls taken in as conversations (channels/calls): one row per call, by the telephony system's call
id (a second POST of the same call finds it), with the recording's reference. A call is a conversation of
its own: its messages are the customer's side, the bot's answer and the agent's turns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class PhoneCall(Base):
    __tablename__ = "phone_call"
    id: Mapped[str] = id_column()
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))  # the customer's side
    recording_ref: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    language: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    transcript_source: Mapped[str] = mapped_column(String(16))  # request | engine
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)  # later customer turns left out of the message
    created_at: Mapped[datetime] = created_column()


__all__ = ["PhoneCall"]
