"""What the channel actions record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["DeliveryDue"]


@domain_event("channels.delivery_due")
@dataclass(frozen=True)
class DeliveryDue(DomainEvent):
    """A message to send to the customer on their channel (a `message_delivery` row)."""

    delivery_id: str
