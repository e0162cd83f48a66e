"""Customer profiles: the features and scores learned for each customer, what the outside sources said about
them (mapped fields only), and each training of the profile models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class CustomerProfile(Base):
    """One row per customer with a profile: the extracted features (name -> number or None) and the scores
    the active profile model gave them, each with the features that drove it."""

    __tablename__ = "customer_profile"
    __table_args__ = (Index("ix_customer_profile_segment", "segment"),)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    value_score: Mapped[float | None] = mapped_column(Float)  # 0-1
    loyalty_score: Mapped[float | None] = mapped_column(Float)  # 0-1
    escalation_risk: Mapped[float | None] = mapped_column(Float)  # 0-1
    segment: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    drivers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # score -> [{feature, weight}]
    emotion_current: Mapped[str | None] = mapped_column(String(16))  # angry | anxious | neutral | satisfied
    emotion_trend: Mapped[str | None] = mapped_column(String(16))  # rising | steady | falling
    model_version: Mapped[str | None] = mapped_column(String(64))
    features_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the features were extracted
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerSourceRecord(Base):
    """What one outside source (customers/sources.yaml, or a CRM import) last said about one customer: only the
    mapped fields are kept. `status` is ok, stale (served from an expired copy) or failed (never fetched)."""

    __tablename__ = "customer_source_record"
    __table_args__ = (UniqueConstraint("customer_id", "source"),)
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(500))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProfileTrainingRun(Base):
    """One training of the profile models: the candidate's and the active model's held-out figures and
    whether the candidate was promoted (only a better one is)."""

    __tablename__ = "profile_training_run"
    __table_args__ = (Index("ix_profile_training_run_created", "created_at"),)
    id: Mapped[str] = id_column()
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | manual | bootstrap
    candidate_version: Mapped[str] = mapped_column(String(64))
    active_version: Mapped[str | None] = mapped_column(String(64))
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(500))
    candidate_metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active_metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_column()


__all__ = ["CustomerProfile", "CustomerSourceRecord", "ProfileTrainingRun"]
