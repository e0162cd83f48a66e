"""The overview of a period: message figures from the hourly roll-up, work-order figures through the daily
snapshot (analytics/order_hours.py), each through its definition in analytics/metrics.py.

Partial hours are exact: the whole UTC hours inside [start, end) are read from the roll-up, and the pieces of
hour before the first and after the last whole hour are counted from the messages themselves (at most two
hours' worth of rows, by the index on message.created_at), with the same message_facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.analytics import metrics
from caredesk.analytics.order_figures import backlog
from caredesk.analytics.order_hours import order_sums
from caredesk.analytics.rollups import COUNTERS, TOTAL, MessageFacts, hour_of
from caredesk.analytics.sources import facts_between
from caredesk.storage.orm import HourlyCount

__all__ = ["OVERVIEW_DIMENSIONS", "Overview", "Sums", "message_sums", "overview"]

OVERVIEW_DIMENSIONS = ("channel", "topic", "content_type", "problem_type", "branch")
HOUR = timedelta(hours=1)


@dataclass(slots=True)
class Sums:
    """Counter totals over a period, and messages per value of each dimension asked for."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    by: dict[str, dict[str, int]] = field(default_factory=dict)

    def add_facts(self, facts: Iterable[MessageFacts], dimensions: tuple[str, ...]) -> None:
        for fact in facts:
            for name in fact.counts:
                self.totals[name] += 1
            for dim in dimensions:
                for value in dict.fromkeys(fact.values.get(dim, ())):
                    if value:
                        self.by[dim][value] = self.by[dim].get(value, 0) + 1


def _whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    first = hour_of(start)
    if first < start:
        first += HOUR
    last = hour_of(end)
    return first, max(first, last)


def message_sums(session: Session, start: datetime, end: datetime,
                 dimensions: tuple[str, ...] = OVERVIEW_DIMENSIONS) -> Sums:
    """Exact sums over the customer messages received in [start, end)."""
    sums = Sums(by={dim: {} for dim in dimensions})
    first, last = _whole_hours(start, end)
    if first < last:
        columns = [func.sum(HourlyCount.__table__.c[name]) for name in COUNTERS]
        row = session.execute(select(*columns).where(
            HourlyCount.dimension == TOTAL, HourlyCount.hour_start >= first, HourlyCount.hour_start < last)).one()
        sums.totals = {name: int(v or 0) for name, v in zip(COUNTERS, row, strict=True)}
        by: dict[str, dict[str, int]] = defaultdict(dict)
        for dim, value, n in session.execute(
                select(HourlyCount.dimension, HourlyCount.value, func.sum(HourlyCount.messages))
                .where(HourlyCount.dimension.in_(dimensions), HourlyCount.hour_start >= first,
                       HourlyCount.hour_start < last)
                .group_by(HourlyCount.dimension, HourlyCount.value)):
            by[dim][value] = int(n or 0)
        sums.by.update(by)
        edges = [(start, first), (last, end)]
    else:  # the whole range is inside one or two hours: all from the messages
        edges = [(start, end)]
    for lo, hi in edges:
        if lo < hi:
            sums.add_facts(facts_between(session, lo, hi), dimensions)
    return sums


@dataclass(frozen=True, slots=True)
class Overview:
    start: datetime
    end: datetime
    messages: int
    auto_response_rate: float | None
    response_failure_rate: float | None
    handoff_rate: float | None
    first_contact_resolution_rate: float | None
    reopen_rate: float | None
    sla_met_rate: float | None
    csat_average: float | None
    csat_satisfied_share: float | None
    backlog: int
    complaints: int
    regulator_complaints: int
    emergencies: int
    by: dict[str, dict[str, int]]


def overview(session: Session, start: datetime, end: datetime) -> Overview:
    """The figures of [start, end); the backlog is the open work orders now."""
    sums = message_sums(session, start, end)
    t = sums.totals
    orders = order_sums(session, start, end)
    survey = metrics.csat_from_sums(orders.rating_sum, orders.surveys, orders.satisfied)
    open_now = backlog(session)
    return Overview(
        start=start, end=end, messages=t["messages"],
        auto_response_rate=metrics.auto_response_rate(t), response_failure_rate=metrics.response_failure_rate(t),
        handoff_rate=metrics.handoff_rate(t),
        first_contact_resolution_rate=metrics.first_contact_resolution_rate(orders.resolved, orders.first_contact),
        reopen_rate=metrics.reopen_rate(orders.resolved, orders.reopened),
        sla_met_rate=metrics.sla_met_rate(orders.with_sla, orders.breached),
        csat_average=survey.average, csat_satisfied_share=survey.satisfied_share,
        backlog=open_now, complaints=t["complaints"], regulator_complaints=t["regulator"],
        emergencies=t["emergencies"], by=metrics.volumes(sums.by))
