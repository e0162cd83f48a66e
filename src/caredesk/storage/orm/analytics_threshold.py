"""Threshold alerts: the state of each rule (so a breach is told once, and its recovery once) and the notices
of each change sent outside (e-mail, SMS, chat-ops webhook), one per recipient and channel, claimed and marked
like every other notice (tasks/notice.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class ThresholdState(Base):
    """One row per rule name that has been judged: ok or breached since when, at which figure."""

    __tablename__ = "analytics_threshold_state"
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # analytics/thresholds.py RuleState
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    last_value: Mapped[float | None] = mapped_column(Float)
    last_checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last breach or recovery told


class ThresholdNotice(Base):
    """One analytics notice to send over one channel (e-mail or SMS to a staff member, or a chat-ops room): a
    threshold rule's breach or recovery, or a surge's opening or resolution (analytics/notices.py)."""

    __tablename__ = "analytics_threshold_notice"
    id: Mapped[str] = id_column()
    rule: Mapped[str] = mapped_column(String(64), index=True)  # the rule's name, or surge:<surge id>
    kind: Mapped[str] = mapped_column(String(16))  # breach | recovery | surge_opened | surge_resolved
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | webhook
    recipient: Mapped[str] = mapped_column(String(64))  # the staff id, or the webhook room's name
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(2000))
    value: Mapped[float | None] = mapped_column(Float)  # the figure judged (a surge's observed count)
    threshold: Mapped[float] = mapped_column(Float)  # (a surge's expected count)
    created_at: Mapped[datetime] = created_column()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tasks/notice.py
    last_error: Mapped[str | None] = mapped_column(String(500))
