"""What the webhook actions record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["DeliveriesDue", "EndpointDisabled"]


@domain_event("webhooks.deliveries_due")
@dataclass(frozen=True)
class DeliveriesDue(DomainEvent):
    """Deliveries were queued (or replayed): run the sender now rather than at its next minute."""

    count: int


@domain_event("webhooks.endpoint_disabled")
@dataclass(frozen=True)
class EndpointDisabled(DomainEvent):
    """A dead endpoint was disabled: e-mail the administrators (the in-app notice is already written)."""

    subscription_id: str
