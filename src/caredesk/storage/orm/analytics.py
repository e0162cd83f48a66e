"""Hourly roll-ups of customer messages per dimension: what dashboards, threshold alerts and surge detection read
instead of scanning every message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime


class HourlyCount(Base):
    """Counts of the customer messages received in one UTC hour with one value of one dimension.

    `dimension` "all" (value "") holds the totals; the others are analytics.dimensions.DIMENSIONS. Rows are only
    ever incremented (an upsert that adds), so concurrent intakes never lose a count, and can be rebuilt from the
    messages and their triage. Hours are UTC: a day in a zone with a whole-hour offset is a set of whole hours."""

    __tablename__ = "analytics_hourly"
    __table_args__ = (PrimaryKeyConstraint("dimension", "value", "hour_start", name="pk_analytics_hourly"),)
    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime())
    messages: Mapped[int] = mapped_column(Integer, default=0)  # customer messages received
    complaints: Mapped[int] = mapped_column(Integer, default=0)  # problem type complaint
    urgent: Mapped[int] = mapped_column(Integer, default=0)  # urgency urgent
    auto_answered: Mapped[int] = mapped_column(Integer, default=0)  # answered from the knowledge base, no person
    unanswered: Mapped[int] = mapped_column(Integer, default=0)  # the bot could not handle it (see metrics.py)
    handed_off: Mapped[int] = mapped_column(Integer, default=0)  # went to a person (work order or hand-off)
    emergencies: Mapped[int] = mapped_column(Integer, default=0)  # started or joined an emergency response
    regulator: Mapped[int] = mapped_column(Integer, default=0)  # complaints threatening the regulator
