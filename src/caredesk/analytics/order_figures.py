"""The work-order side of the metrics: counts read with aggregate queries over indexed columns
(work_order.resolved_at, status_category, satisfaction_survey.answered_at: migration 0019), and for whole past
hours from the hourly snapshot (analytics/order_hours.py). The counts go to the pure definitions in
analytics/metrics.py; no order rows are carried into Python."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import SQLColumnExpression, and_, bindparam, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from caredesk.analytics.metrics import AGE_BANDS, FCR_WINDOW, SATISFIED
from caredesk.storage.orm import SatisfactionSurvey, SlaMark, WorkOrder, WorkOrderEvent
from caredesk.storage.orm.base import UTCDateTime

__all__ = ["OPEN_CATEGORIES", "OrderSums", "backlog", "backlog_by_group", "live_order_sums"]

OPEN_CATEGORIES = ("open", "paused")  # the backlog: not resolved or closed (waiting for the customer included)


@dataclass(frozen=True, slots=True)
class OrderSums:
    """Orders resolved in a period (merged-away orders left out) and how many of them ..., and the surveys."""

    resolved: int = 0
    reopened: int = 0  # ... had been reopened
    first_contact: int = 0  # ... were resolved at the first contact (metrics.first_contact_resolved)
    with_sla: int = 0  # ... ran under an SLA policy
    breached: int = 0  # ... of those, had their resolution target breached
    surveys: int = 0  # surveys answered in the period with a rating
    rating_sum: int = 0
    satisfied: int = 0  # ... rated at or above metrics.SATISFIED

    def __add__(self, other: OrderSums) -> OrderSums:
        return OrderSums(*(getattr(self, n) + getattr(other, n) for n in _NAMES))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return _NAMES


_NAMES = tuple(f.name for f in fields(OrderSums))


def _within(later: SQLColumnExpression[datetime], earlier: SQLColumnExpression[datetime],
            dialect: str) -> SQLColumnExpression[bool]:
    """later - earlier <= FCR_WINDOW, in the dialect's date arithmetic."""
    if dialect == "postgresql":
        return later - earlier <= literal(FCR_WINDOW)
    return func.julianday(later) - func.julianday(earlier) <= FCR_WINDOW.total_seconds() / 86400


def _count_if(cond: SQLColumnExpression[bool]) -> SQLColumnExpression[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


@cache
def _statements(dialect: str) -> tuple[Any, Any]:
    """The two reads of live_order_sums, built once per dialect (building and keying them costs more than
    running them over a day of orders)."""
    order, other = WorkOrder, aliased(WorkOrder)
    start, end = bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
    flags = select(
        exists().where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.kind == "status_changed",
                       WorkOrderEvent.data["to"].as_string() == "reopened").label("reopened"),
        exists().where(other.customer_id == order.customer_id, other.id != order.id,
                       other.created_at > order.created_at,
                       _within(other.created_at, order.created_at, dialect)).label("came_back"),
        order.sla_policy.is_not(None).label("with_sla"),
        exists().where(SlaMark.work_order_id == order.id, SlaMark.target == "resolution",
                       SlaMark.kind == "breach").label("breached"),
    ).where(order.resolved_at >= start, order.resolved_at < end, order.merged_into_id.is_(None)).subquery()
    orders = select(func.count(), _count_if(flags.c.reopened),
                    _count_if(and_(~flags.c.reopened, ~flags.c.came_back)), _count_if(flags.c.with_sla),
                    _count_if(and_(flags.c.with_sla, flags.c.breached)))
    rating = SatisfactionSurvey.rating
    surveys = select(func.count(rating), func.coalesce(func.sum(rating), 0), _count_if(rating >= SATISFIED)).where(
        SatisfactionSurvey.answered_at >= start, SatisfactionSurvey.answered_at < end, rating.is_not(None))
    return orders, surveys


def live_order_sums(session: Session, start: datetime, end: datetime) -> OrderSums:
    """OrderSums of [start, end) from the orders, events, SLA marks and surveys themselves."""
    orders, surveys = _statements(session.get_bind().dialect.name)
    period = {"start": start, "end": end}
    resolved, reopened, first, with_sla, breached = session.execute(orders, period).one()
    count, total, satisfied = session.execute(surveys, period).one()
    return OrderSums(*(int(v or 0) for v in (resolved, reopened, first, with_sla, breached, count, total,
                                             satisfied)))


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
