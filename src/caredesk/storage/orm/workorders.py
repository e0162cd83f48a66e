"""Work orders, their append-only event log, and what hangs off them: SLA marks, satisfaction surveys,
callback tasks, links between orders, and canned replies (macros)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class WorkOrder(Base):
    """A customer problem the knowledge base could not answer, driven through a processing flow."""

    __tablename__ = "work_order"
    # Queues page newest-first by id within a filter: each index ends in id so the page is an index range
    # scan (1M orders: p99 from ~280 ms to ~8 ms on SQLite, see make bench).
    __table_args__ = (
        Index("ix_work_order_status_id", "status_category", "id"),
        Index("ix_work_order_department_status_id", "department_id", "status_category", "id"),
        Index("ix_work_order_assignee_status_id", "assignee_id", "status_category", "id"),
        Index("ix_work_order_customer_id", "customer_id", "id"),
        Index("ix_work_order_sla_next_check_at", "sla_next_check_at"),
        Index("ix_work_order_waiting", "skill_group_id", "queued_at"),
        Index("ix_work_order_resolved_at", "resolved_at"),  # analytics: orders resolved in a period
    )
    id: Mapped[str] = id_column()
    # What customers and staff see and quote: C + the day in the display time zone + "-" + the day's sequence
    # (workorders/case_numbers.py); the 32-hex id stays internal (URLs, foreign keys).
    case_number: Mapped[str | None] = mapped_column(String(24), unique=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversation.id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("message.id"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(32))
    problem_type: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    status_category: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"))
    skill_group_id: Mapped[str | None] = mapped_column(ForeignKey("skill_group.id"))
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
    # When the order is next due in its flow (queue order, the order page): the first step's timer, or the SLA
    # resolution due time when a policy applies, brought forward by a later step's shorter timer. The API
    # still names it `due_at` too (kept for existing clients).
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Routing and SLA state (issue 4); the event log keeps the history, these columns the present.
    channel: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    customer_tier: Mapped[str] = mapped_column(String(32), default="standard")
    category: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # values required by flow transitions
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # waiting for an agent with capacity
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # start of the current hop
    sla_policy: Mapped[str | None] = mapped_column(String(64))
    sla_next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    awaiting_reply_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("work_order.id"))
    # The lead on duty it was handed to (nobody free for a high-risk order); the queue says so while they hold it.
    duty_lead_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))

    @property
    def number(self) -> str:
        """The number people see: the case number (an order made before case numbers has its id)."""
        return self.case_number or self.id


class CaseCounter(Base):
    """The last case number given on one day (in the display time zone); each number is handed out once
    (workorders/case_numbers.py says in which transaction)."""

    __tablename__ = "case_counter"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD
    last: Mapped[int] = mapped_column(Integer, default=0)


class WorkOrderEvent(Base):
    """What happened to a work order, in order; rows are only ever added."""

    __tablename__ = "work_order_event"
    __table_args__ = (UniqueConstraint("work_order_id", "seq", name="uq_work_order_event_order_seq"),
                      Index("ix_work_order_event_actor", "actor", "work_order_id"))  # "orders I worked on"
    id: Mapped[str] = id_column()
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_column()


class SlaMark(Base):
    """A warning, breach or escalation already acted on: the unique key makes two workers checking the same
    order at the same minute send it once."""

    __tablename__ = "work_order_sla_mark"
    __table_args__ = (UniqueConstraint("work_order_id", "target", "kind", name="uq_sla_mark_order_target_kind"),)
    id: Mapped[str] = id_column()
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id"))
    target: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # warning | breach | escalation-1, escalation-2, ...
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))  # who was told
    created_at: Mapped[datetime] = created_column()
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tasks/notice.py


class DutyHandoff(Base):
    """A high-risk order handed to the lead on duty: the notice's e-mail is claimed and marked here, so that a
    retried or repeated task sends it once."""

    __tablename__ = "work_order_duty_handoff"
    id: Mapped[str] = id_column()
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id"), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    trigger: Mapped[str] = mapped_column(String(16))  # at_once | after_wait
    reason: Mapped[str] = mapped_column(String(500))  # in words
    created_at: Mapped[datetime] = created_column()
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tasks/notice.py


class SatisfactionSurvey(Base):
    """Sent when an order closes; answered by link (token), e-mail or chat; a low rating reopens the order."""

    __tablename__ = "satisfaction_survey"
    __table_args__ = (Index("ix_satisfaction_survey_answered_at", "answered_at"),)  # analytics: CSAT of a period
    id: Mapped[str] = id_column()
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # an e-mailed survey: tasks/notice.py
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()


class CallbackTask(Base):
    """A call back to the customer after a complaint is closed."""

    __tablename__ = "callback_task"
    id: Mapped[str] = id_column()
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id"), index=True)
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_column()
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkOrderLink(Base):
    """Related orders, and the traces of merges and splits."""

    __tablename__ = "work_order_link"
    __table_args__ = (UniqueConstraint("work_order_id", "other_id", "kind", name="uq_work_order_link"),)
    id: Mapped[str] = id_column()
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_order.id"), index=True)
    other_id: Mapped[str] = mapped_column(ForeignKey("work_order.id"))
    kind: Mapped[str] = mapped_column(String(16))  # related | merged_into | merged_from | split_from | split_into
    created_at: Mapped[datetime] = created_column()


class Macro(Base):
    """A canned reply; `{customer}` and `{order}` are filled in when it is used."""

    __tablename__ = "macro"
    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()
