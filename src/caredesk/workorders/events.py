"""What the work-order actions record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["DutyHandoffDue", "ReplyEmailDue", "SurveyAnswered", "SurveyDue", "WorkOrderChanged"]


@domain_event("workorders.changed")
@dataclass(frozen=True)
class WorkOrderChanged(DomainEvent):
    """The workbench refreshes the order."""

    work_order_id: str


@domain_event("workorders.survey_due")
@dataclass(frozen=True)
class SurveyDue(DomainEvent):
    survey_id: str


@domain_event("workorders.survey_answered")
@dataclass(frozen=True)
class SurveyAnswered(DomainEvent):
    """The customer rated the order (the profile refreshes: CSAT is one of its features)."""

    survey_id: str
    work_order_id: str


@domain_event("workorders.reply_email_due")
@dataclass(frozen=True)
class ReplyEmailDue(DomainEvent):
    """A staff reply to e-mail to the customer ("" = the order's latest reply)."""

    work_order_id: str
    message_id: str = ""


@domain_event("workorders.duty_handoff_due")
@dataclass(frozen=True)
class DutyHandoffDue(DomainEvent):
    """A high-risk order was handed to the lead on duty: e-mail them (the in-app notice is already written)."""

    handoff_id: str
