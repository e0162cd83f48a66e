"""What administrators see of the profile model's quality: the training runs (held-out AUC of the escalation
risk on the recent weeks, promoted or not, why) and the CSAT of each segment. Read-only queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from caredesk.storage.orm import CustomerProfile, ProfileTrainingRun, SatisfactionSurvey, WorkOrder

__all__ = ["RunRow", "SegmentCsat", "csat_by_segment", "training_runs"]

SATISFIED = 4  # a rating of 4 or 5 counts as satisfied (CSAT share)


@dataclass(frozen=True, slots=True)
class RunRow:
    created_at: datetime
    trigger: str
    candidate_version: str
    active_version: str | None
    promoted: bool
    reason: str
    auc_recent: float | None
    active_auc_recent: float | None
    n_holdout: int
    holdout_positive: int


@dataclass(frozen=True, slots=True)
class SegmentCsat:
    segment: str
    customers: int
    surveys: int
    mean_rating: float | None
    satisfied_share: float | None


def training_runs(session: Session, *, limit: int = 20) -> list[RunRow]:
    rows = session.scalars(select(ProfileTrainingRun).order_by(ProfileTrainingRun.created_at.desc(),
                                                               ProfileTrainingRun.id.desc()).limit(limit))
    return [RunRow(r.created_at, r.trigger, r.candidate_version, r.active_version, r.promoted, r.reason,
                   (r.candidate_metrics or {}).get("auc_recent"), (r.active_metrics or {}).get("auc_recent"),
                   int((r.candidate_metrics or {}).get("n_holdout") or 0),
                   int((r.candidate_metrics or {}).get("holdout_positive") or 0)) for r in rows]


def csat_by_segment(session: Session, *, now: datetime, days: int = 90) -> list[SegmentCsat]:
    """Per segment: its customers, and the surveys they answered in the last `days` (mean, share of 4-5)."""
    sizes: dict[str, int] = {seg: int(n) for seg, n in session.execute(
        select(CustomerProfile.segment, func.count()).where(CustomerProfile.segment.is_not(None))
        .group_by(CustomerProfile.segment)) if seg is not None}
    rated = session.execute(
        select(CustomerProfile.segment, func.count(SatisfactionSurvey.id), func.avg(SatisfactionSurvey.rating),
               func.sum(case((SatisfactionSurvey.rating >= SATISFIED, 1), else_=0)))
        .join(WorkOrder, WorkOrder.id == SatisfactionSurvey.work_order_id)
        .join(CustomerProfile, CustomerProfile.customer_id == WorkOrder.customer_id)
        .where(SatisfactionSurvey.answered_at >= now - timedelta(days=days), SatisfactionSurvey.rating.is_not(None))
        .group_by(CustomerProfile.segment)).all()
    stats = {seg: (int(n), float(mean) if mean is not None else None, int(good or 0))
             for seg, n, mean, good in rated if seg is not None}
    out = []
    for segment in sorted(set(sizes) | set(stats)):
        n, mean, good = stats.get(segment, (0, None, 0))
        out.append(SegmentCsat(segment, int(sizes.get(segment, 0)), n, round(mean, 2) if mean is not None else None,
                               round(good / n, 3) if n else None))
    return out
