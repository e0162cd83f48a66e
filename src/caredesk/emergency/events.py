"""What the emergency actions record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["IncidentOutcomeDue", "InvitationDue"]


@domain_event("emergency.invitation_due")
@dataclass(frozen=True)
class InvitationDue(DomainEvent):
    """A meeting participant's join notice to send."""

    participant_id: str


@domain_event("emergency.incident_outcome_due")
@dataclass(frozen=True)
class IncidentOutcomeDue(DomainEvent):
    """The locked incident record's outcome to e-mail to the customer."""

    record_id: str
