"""The delivery log is kept for a while, not for ever: events and their settled deliveries older than the
retention go (an event's `personal` field holds customer text, encrypted, which must not outlive its use).
Pending deliveries and their events stay whatever their age."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from caredesk.storage.orm import WebhookDelivery, WebhookEvent

__all__ = ["prune_deliveries"]


def prune_deliveries(s: Session, *, now: datetime, keep: timedelta) -> tuple[int, int]:
    """(deliveries, events) removed; the caller commits."""
    cutoff = now - keep
    settled = s.execute(delete(WebhookDelivery).where(WebhookDelivery.created_at < cutoff,
                                                      WebhookDelivery.status != "pending")
                        .execution_options(synchronize_session=False))
    waiting = select(WebhookDelivery.id).where(WebhookDelivery.event_id == WebhookEvent.id)
    events = s.execute(delete(WebhookEvent).where(WebhookEvent.created_at < cutoff, ~exists(waiting))
                       .execution_options(synchronize_session=False))
    return int(settled.rowcount or 0), int(events.rowcount or 0)  # type: ignore[attr-defined]
