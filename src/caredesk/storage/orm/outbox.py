"""The transactional outbox: domain events written in the action's transaction, dispatched after its commit
and re-dispatched by the relay until marked done."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime


class OutboxEvent(Base):
    """One recorded event. `available_at` in the future holds a delayed event (an escalation check, a notice
    held by quiet hours); `locked_until` is the lease of the process dispatching it (the writer right after its
    commit, or a relay), so that another relay leaves it alone until the lease runs out."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "dispatched_at", "available_at"),)
    # An integer sequence: events are dispatched in the order they were recorded.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
