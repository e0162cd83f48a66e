"""Hourly roll-ups of customer messages per dimension: what dashboards, threshold alerts and surge detection read
instead of scanning every message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime


class HourlyCount(Base):
    """Counts of the customer messages received in one UTC hour with one value of one dimension.

    `dimension` "all" (value "") holds the totals; the others are analytics.dimensions.DIMENSIONS. Rows are only
    ever incremented (an upsert that adds), so concurrent intakes never lose a count, and can be rebuilt from the
    messages and their triage. Hours are UTC: a day in a zone with a whole-hour offset is a set of whole hours."""

    __tablename__ = "analytics_hourly"
    __table_args__ = (PrimaryKeyConstraint("dimension", "value", "hour_start", name="pk_analytics_hourly"),
                      # a period's breakdown: a range of hours per dimension, read from the index alone
                      Index("ix_analytics_hourly_dimension_hour", "dimension", "hour_start", "value", "messages"))
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


class OrderHour(Base):
    """The work-order figures of one UTC hour (analytics/order_hours.py): orders resolved in it and how many of
    them were reopened, resolved at the first contact, under an SLA, breached; the surveys answered in it.

    A snapshot, not a counter: a later reopen or a customer coming back within the first-contact window changes
    a past hour, so the recent hours are recomputed by a periodic task and any period by the rebuild."""

    __tablename__ = "analytics_order_hour"
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    first_contact: Mapped[int] = mapped_column(Integer, default=0)
    with_sla: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)
    surveys: Mapped[int] = mapped_column(Integer, default=0)  # answered, with a rating
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)  # rated at or above metrics.SATISFIED
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
