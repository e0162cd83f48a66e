"""Read models: subscriptions and their delivery log, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.errors import NotFound
from caredesk.integrations.webhooks.views import DeliveryView, SubscriptionView, delivery_view, view_of
from caredesk.storage.orm import WebhookDelivery, WebhookSubscription

__all__ = ["list_deliveries", "list_subscriptions"]


def list_subscriptions(s: Session) -> list[SubscriptionView]:
    return [view_of(sub) for sub in s.scalars(select(WebhookSubscription).order_by(WebhookSubscription.created_at,
                                                                                   WebhookSubscription.id))]


def list_deliveries(s: Session, subscription_id: str, *, status: str | None = None, limit: int = 50,
                    before: datetime | None = None) -> list[DeliveryView]:
    if s.get(WebhookSubscription, subscription_id) is None:
        raise NotFound("no such webhook subscription")
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if before is not None:
        stmt = stmt.where(WebhookDelivery.created_at < before)
    stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
    return [delivery_view(d) for d in s.scalars(stmt)]
