"""The work-order side of the metrics, read with aggregate queries over indexed columns (work_order.resolved_at,
status_category, satisfaction_survey.answered_at: migration 0019): counts go to the pure definitions in
analytics/metrics.py, no order rows are carried into Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from caredesk.analytics.metrics import AGE_BANDS, FCR_WINDOW, SATISFIED, Csat, csat_from_sums
from caredesk.storage.orm import SatisfactionSurvey, SlaMark, WorkOrder, WorkOrderEvent

__all__ = ["OPEN_CATEGORIES", "ResolvedFigures", "backlog", "backlog_by_group", "resolved_figures",
           "survey_figures"]

OPEN_CATEGORIES = ("open", "paused")  # the backlog: not resolved or closed (waiting for the customer included)


@dataclass(frozen=True, slots=True)
class ResolvedFigures:
    """Orders resolved in the period (merged-away orders left out) and how many of them ..."""

    resolved: int
    reopened: int  # ... had been reopened
    first_contact: int  # ... were resolved at the first contact (metrics.first_contact_resolved)
    with_sla: int  # ... ran under an SLA policy
    breached: int  # ... of those, had their resolution target breached


def _within(later: SQLColumnExpression[datetime], earlier: SQLColumnExpression[datetime], dialect: str) -> ColumnElement[bool]:
    """later - earlier <= FCR_WINDOW, in the dialect's date arithmetic."""
    if dialect == "postgresql":
        return later - earlier <= literal(FCR_WINDOW)
    days = FCR_WINDOW.total_seconds() / 86400
    return func.julianday(later) - func.julianday(earlier) <= days


def resolved_figures(session: Session, start: datetime, end: datetime) -> ResolvedFigures:
    dialect = session.get_bind().dialect.name
    order, other = WorkOrder, aliased(WorkOrder)
    reopened = exists().where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.kind == "status_changed",
                              WorkOrderEvent.data["to"].as_string() == "reopened")
    came_back = exists().where(other.customer_id == order.customer_id, other.id != order.id,
                               other.created_at > order.created_at,
                               _within(other.created_at, order.created_at, dialect))
    breached = exists().where(SlaMark.work_order_id == order.id, SlaMark.target == "resolution",
                              SlaMark.kind == "breach")

    def count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    row = session.execute(select(
        func.count(), count_if(reopened),
        count_if(and_(~reopened, ~came_back)),
        count_if(order.sla_policy.is_not(None)),
        count_if(and_(order.sla_policy.is_not(None), breached)),
    ).where(order.resolved_at >= start, order.resolved_at < end, order.merged_into_id.is_(None))).one()
    return ResolvedFigures(*(int(v) for v in row))


def survey_figures(session: Session, start: datetime, end: datetime) -> Csat:
    """CSAT over the surveys answered in [start, end)."""
    rating = SatisfactionSurvey.rating
    total, count, satisfied = session.execute(select(
        func.coalesce(func.sum(rating), 0), func.count(rating),
        func.coalesce(func.sum(case((rating >= SATISFIED, 1), else_=0)), 0),
    ).where(SatisfactionSurvey.answered_at >= start, SatisfactionSurvey.answered_at < end,
            rating.is_not(None))).one()
    return csat_from_sums(int(total), int(count), int(satisfied))


def backlog(session: Session) -> int:
    """Open work orders now (metrics: backlog)."""
    return int(session.scalar(select(func.count()).select_from(WorkOrder)
                              .where(WorkOrder.status_category.in_(OPEN_CATEGORIES))) or 0)


def backlog_by_group(session: Session, now: datetime) -> dict[str | None, dict[str, int]]:
    """Open work orders now by skill group id (None: not routed to a group) and age band (metrics.AGE_BANDS)."""
    bands = [(label, now - upper) for label, upper in AGE_BANDS if upper is not None]
    band = case(*[(WorkOrder.created_at > since, literal(label)) for label, since in bands],
                else_=literal(AGE_BANDS[-1][0]))
    rows = session.execute(select(WorkOrder.skill_group_id, band, func.count())
                           .where(WorkOrder.status_category.in_(OPEN_CATEGORIES))
                           .group_by(WorkOrder.skill_group_id, band))
    out: dict[str | None, dict[str, int]] = {}
    for group, label, n in rows:
        out.setdefault(group, {lbl: 0 for lbl, _ in AGE_BANDS})[label] += int(n)
    return out
