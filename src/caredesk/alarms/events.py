"""What the alarm actions record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["AlarmChanged", "EscalationDue", "NoticeDue"]


@domain_event("alarms.changed")
@dataclass(frozen=True)
class AlarmChanged(DomainEvent):
    """The workbench refreshes the alarm (raised, escalated, acknowledged, assigned, resolved)."""

    alarm_id: str
    conversation_id: str
    change: str


@domain_event("alarms.notice_due")
@dataclass(frozen=True)
class NoticeDue(DomainEvent):
    """One recorded delivery (e-mail, SMS, chat-ops webhook) to send; recorded with a later availability when
    quiet hours hold it."""

    delivery_id: str


@domain_event("alarms.escalation_due")
@dataclass(frozen=True)
class EscalationDue(DomainEvent):
    """Check whether the alarm, still open at `from_level`, goes to the next level; available at the
    acknowledgement timeout."""

    alarm_id: str
    from_level: int
