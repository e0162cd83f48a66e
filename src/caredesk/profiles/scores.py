"""The scores of one customer's profile as the rest of CareDesk reads them (priority, queue, bot): a typed
read of `customer_profile`, None when the customer has no profile yet."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.storage.orm import CustomerProfile

__all__ = ["ProfileScores", "scores_of"]


@dataclass(frozen=True)
class ProfileScores:
    customer_id: str
    value_score: float | None
    loyalty_score: float | None
    escalation_risk: float | None
    segment: str | None
    tags: tuple[str, ...]
    emotion_current: str | None
    emotion_trend: str | None


def scores_of(session: Session, customer_id: str) -> ProfileScores | None:
    row = session.scalar(select(CustomerProfile).where(CustomerProfile.customer_id == customer_id))
    if row is None:
        return None
    return ProfileScores(row.customer_id, row.value_score, row.loyalty_score, row.escalation_risk, row.segment,
                         tuple(row.tags or ()), row.emotion_current, row.emotion_trend)
