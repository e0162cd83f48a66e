"""Outgoing event webhooks: who subscribed to which public event types, each public event once, and one
delivery per subscription and event (the delivery log, and the queue the sender claims from)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.compliance.crypto import EncryptedText
from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class WebhookSubscription(Base):
    """An endpoint and the event types it takes. The secret signs each delivery (encrypted at rest, never
    shown again). `include_personal_data`: an administrator let this endpoint receive customer text and
    personal data unmasked. Consecutive failures since `failing_since` disable a dead endpoint."""

    __tablename__ = "webhook_subscription"
    id: Mapped[str] = id_column()
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(EncryptedText())
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    include_personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    notice_emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the "disabled" e-mail to admins
    notice_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tasks/notice.py
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()


class WebhookEvent(Base):
    """One public event, as every subscriber receives it. `id` is derived from what happened (the source
    event), so that a relay delivering the source twice makes no second event. `data` holds ids, labels and
    masked text; `personal` (encrypted JSON) the unmasked fields, sent only where an administrator allowed it."""

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_created", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    personal: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = created_column()


class WebhookDelivery(Base):
    """One event to one endpoint: pending -> delivered | failed (given up, refused, or the endpoint disabled).
    Claimed by a sender for a lease (`claimed_until`); retried at `next_attempt_at` with backoff; a replay
    makes it pending again."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_subscription_event"),
                      Index("ix_webhook_delivery_due", "status", "next_attempt_at"))
    id: Mapped[str] = id_column()
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replays: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_column()
