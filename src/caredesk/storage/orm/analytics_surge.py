"""Surges: a count of one series (a topic, product, content type, problem type, channel or branch) well above its
expected level, with their lifecycle (open, acknowledged, resolved) and the report a supervisor reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime, id_column

_ACTIVE = text("status IN ('open', 'acknowledged')")


class Surge(Base):
    """One surge of one series: its window [window_start, window_end) grows while the series keeps surging.
    At most one active (open or acknowledged) per series, which the partial unique index enforces."""

    __tablename__ = "analytics_surge"
    __table_args__ = (
        Index("uq_analytics_surge_active", "dimension", "value", unique=True, sqlite_where=_ACTIVE,
              postgresql_where=_ACTIVE),
        Index("ix_analytics_surge_detected_at", "detected_at"),
    )
    id: Mapped[str] = id_column()
    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the end of the first hour judged a surge
    observed: Mapped[int] = mapped_column(Integer)  # messages in the window
    expected: Mapped[float] = mapped_column(Float)  # what was expected in the window
    status: Mapped[str] = mapped_column(String(16), default="open")  # analytics/surge_status.py
    acknowledged_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
