"""What the API and the pages show of a subscription and of a delivery (never the secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caredesk.storage.orm import WebhookDelivery, WebhookSubscription

__all__ = ["DeliveryView", "SubscriptionView", "delivery_view", "view_of"]


@dataclass(frozen=True)
class SubscriptionView:
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    active: bool
    include_personal_data: bool
    consecutive_failures: int
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


def view_of(sub: WebhookSubscription) -> SubscriptionView:
    return SubscriptionView(sub.id, sub.url, tuple(sub.events), sub.description, sub.active,
                            sub.include_personal_data, sub.consecutive_failures, sub.failing_since, sub.disabled_at,
                            sub.disabled_reason, sub.created_by, sub.created_at, sub.updated_at)


@dataclass(frozen=True)
class DeliveryView:
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    response_code: int | None
    latency_ms: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    replays: int
    created_at: datetime


def delivery_view(d: WebhookDelivery) -> DeliveryView:
    return DeliveryView(d.id, d.subscription_id, d.event_id, d.event_type, d.status, d.attempts, d.response_code,
                        d.latency_ms, d.last_error, d.last_attempt_at,
                        d.next_attempt_at if d.status == "pending" else None, d.delivered_at, d.replays,
                        d.created_at)
