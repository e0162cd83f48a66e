"""Agent label corrections and the outcome of each triage retraining run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, created_column, id_column


class LabelCorrection(Base):
    """An agent's correction of one triage head for one message.

    `text_masked` is a snapshot taken at correction time, so training never reads unmasked customer text.
    """

    __tablename__ = "label_correction"
    __table_args__ = (
        Index("ix_label_correction_message_head", "message_id", "head", "created_at"),
        Index("ix_label_correction_created", "created_at"),
    )
    id: Mapped[str] = id_column()
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id"))
    head: Mapped[str] = mapped_column(String(32))
    old_label: Mapped[str] = mapped_column(String(64))
    new_label: Mapped[str] = mapped_column(String(64))
    text_masked: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = created_column()


class TrainingRun(Base):
    """One retraining of the triage model: what was compared and whether the candidate was promoted."""

    __tablename__ = "triage_training_run"
    __table_args__ = (Index("ix_triage_training_run_created", "created_at"),)
    id: Mapped[str] = id_column()
    trigger: Mapped[str] = mapped_column(String(16))  # nightly | manual
    candidate_version: Mapped[str] = mapped_column(String(64))
    active_version: Mapped[str | None] = mapped_column(String(64))
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(500))
    n_corrections: Mapped[int] = mapped_column(Integer, default=0)
    candidate_metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active_metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_column()


__all__ = ["LabelCorrection", "TrainingRun"]
