"""What the SLA checks record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["SlaMarked", "SlaNoticeDue"]


@domain_event("sla.marked")
@dataclass(frozen=True)
class SlaMarked(DomainEvent):
    """The order reached SLA instants (warning, breach, escalation): the workbench refreshes it."""

    work_order_id: str
    kinds: tuple[str, ...]


@domain_event("sla.notice_due")
@dataclass(frozen=True)
class SlaNoticeDue(DomainEvent):
    mark_id: str
