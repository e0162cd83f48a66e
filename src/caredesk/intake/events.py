"""What the intake action records for after its commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["MessageReceived"]


@domain_event("intake.message_received")
@dataclass(frozen=True)
class MessageReceived(DomainEvent):
    """A customer message was stored and decided: the workbench shows it (ids and labels only)."""

    conversation_id: str
    message_id: str
    decision: str
    clarification: bool
    urgency: str
    alarm_id: str | None = None
