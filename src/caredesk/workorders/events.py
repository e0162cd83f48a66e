"""What the work-order actions record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["MILESTONE_KINDS", "DutyHandoffDue", "ReplyEmailDue", "SurveyAnswered", "SurveyDue", "WorkOrderChanged",
           "WorkOrderMilestone"]


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


# Timeline kinds that outside systems may subscribe to (integrations/webhooks maps them to public event types).
MILESTONE_KINDS = frozenset({"created", "assigned", "transferred", "status_changed", "sla_warning", "sla_breached",
                             "emergency_started", "survey_answered"})


@domain_event("workorders.milestone")
@dataclass(frozen=True)
class WorkOrderMilestone(DomainEvent):
    """A timeline entry of a `MILESTONE_KINDS` kind was appended (the entry holds the details)."""

    work_order_id: str
    seq: int
    kind: str
