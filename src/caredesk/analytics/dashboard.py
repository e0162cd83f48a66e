"""What the dashboard pages show, read from the hourly roll-up and the work orders: today against the usual for
this weekday, series over a period in the centre's zone, breakdowns by dimension, complaints by department and
the team's figures. Every rate and percentile goes through its definition in analytics/metrics.py.

Day and hour buckets are the centre's local days and hours; the roll-up's rows are whole UTC hours, so a period
is widened to whole hours (`whole_hours`) and each UTC hour falls in the local bucket its start falls in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.analytics import metrics
from caredesk.analytics.agent_times import answered_orders
from caredesk.analytics.order_figures import OPEN_CATEGORIES
from caredesk.analytics.rollups import COUNTERS, DIMENSIONS, TOTAL, hour_of, hourly_counts
from caredesk.errors import InvalidInput
from caredesk.storage.orm import Department, HourlyCount, SatisfactionSurvey, Staff, WorkOrder

__all__ = ["HOURLY_LIMIT", "USUAL_WEEKS", "AgentFigures", "Bucket", "Granularity", "HourAgainstUsual",
           "ValueCounts", "agent_figures", "breakdown", "complaints_by_department", "local_day_start",
           "series", "today_against_usual", "whole_hours"]

Granularity = Literal["day", "hour"]
USUAL_WEEKS = 4  # "the usual": the mean of the same weekday's same hour over this many previous weeks
HOURLY_LIMIT = timedelta(days=31)  # an hourly series longer than this is refused (744 points is plenty)
HOUR = timedelta(hours=1)


def local_day_start(moment: datetime, zone: ZoneInfo) -> datetime:
    """Midnight of the moment's local day in the centre's zone, as UTC."""
    local = moment.astimezone(zone)
    return datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(UTC)


def whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) widened to whole UTC hours, the roll-up's grain."""
    last = hour_of(end)
    return hour_of(start), last if last == end else last + HOUR


def _total_by_hour(session: Session, start: datetime, end: datetime, counter: str) -> dict[datetime, int]:
    return hourly_counts(session, TOTAL, start, end, counter).get("", {})


@dataclass(frozen=True, slots=True)
class HourAgainstUsual:
    hour: int  # local hour of the day, 0-23
    today: int | None  # None for the hours still to come
    usual: float  # mean over the previous USUAL_WEEKS same weekdays


def today_against_usual(session: Session, now: datetime, zone: ZoneInfo, counter: str = "messages",
                        weeks: int = USUAL_WEEKS) -> list[HourAgainstUsual]:
    """Each local hour of today: the count so far, and the mean of the same weekday's same hour over the
    previous `weeks` weeks (from the roll-up; a week with no message in that hour counts as 0)."""
    day = local_day_start(now, zone)
    today = _total_by_hour(session, day, day + timedelta(days=1), counter)
    past: dict[int, int] = defaultdict(int)
    for week in range(1, weeks + 1):
        start = local_day_start(day - timedelta(days=7 * week) + 12 * HOUR, zone)  # DST-safe: midday, then back
        for hour, n in _total_by_hour(session, start, start + timedelta(days=1), counter).items():
            past[hour.astimezone(zone).hour] += n
    current = now.astimezone(zone).hour
    counted: dict[int, int] = defaultdict(int)
    for hour, n in today.items():
        counted[hour.astimezone(zone).hour] += n
    return [HourAgainstUsual(h, counted[h] if h <= current else None, past[h] / weeks) for h in range(24)]


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # local (the centre's zone)
    counts: dict[str, int]  # counter -> count


def _bucket_starts(start: datetime, end: datetime, zone: ZoneInfo, granularity: Granularity) -> list[datetime]:
    if granularity == "hour":
        out, at = [], start
        while at < end:
            out.append(at.astimezone(zone))
            at += HOUR
        return out
    first: date = start.astimezone(zone).date()
    last: date = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [datetime(d.year, d.month, d.day, tzinfo=zone)
            for d in (first + timedelta(days=i) for i in range((last - first).days + 1))]


def _bucket_of(hour: datetime, zone: ZoneInfo, granularity: Granularity) -> datetime:
    local = hour.astimezone(zone)
    return local if granularity == "hour" else datetime(local.year, local.month, local.day, tzinfo=zone)


def series(session: Session, start: datetime, end: datetime, zone: ZoneInfo, granularity: Granularity,
           counters: Iterable[str] = COUNTERS) -> list[Bucket]:
    """Totals per local hour or day over the whole hours of [start, end) (widen the period with `whole_hours`
    first); every bucket present, empty ones at 0."""
    if granularity == "hour" and end - start > HOURLY_LIMIT:
        raise InvalidInput("an hourly series covers at most 31 days: choose daily", field="granularity")
    wanted = [c for c in counters if c in COUNTERS]
    columns = [func.sum(HourlyCount.__table__.c[name]) for name in wanted]
    buckets = {b: dict.fromkeys(wanted, 0) for b in _bucket_starts(start, end, zone, granularity)}
    rows = session.execute(select(HourlyCount.hour_start, *columns)
                           .where(HourlyCount.dimension == TOTAL, HourlyCount.hour_start >= start,
                                  HourlyCount.hour_start < end)
                           .group_by(HourlyCount.hour_start))
    for hour, *values in rows:
        cell = buckets.setdefault(_bucket_of(hour, zone, granularity),
                                  dict.fromkeys(wanted, 0))
        for name, n in zip(wanted, values, strict=True):
            cell[name] += int(n or 0)
    return [Bucket(at, counts) for at, counts in sorted(buckets.items())]


@dataclass(frozen=True, slots=True)
class ValueCounts:
    value: str
    counts: dict[str, int]  # counter -> count, over the period

    def rate(self, counter: str) -> float | None:
        return metrics.rate(self.counts.get(counter, 0), self.counts.get("messages", 0))


def breakdown(session: Session, dimension: str, start: datetime, end: datetime, *, order_by: str = "messages"
              ) -> list[ValueCounts]:
    """Each value of the dimension over the whole hours of [start, end), with every counter; busiest first by
    `order_by`, values with nothing counted on it left out."""
    if dimension not in DIMENSIONS:
        raise InvalidInput(f"unknown dimension: {dimension[:40]}", field="dimension")
    columns = [func.sum(HourlyCount.__table__.c[name]) for name in COUNTERS]
    rows = session.execute(select(HourlyCount.value, *columns)
                           .where(HourlyCount.dimension == dimension, HourlyCount.hour_start >= start,
                                  HourlyCount.hour_start < end)
                           .group_by(HourlyCount.value))
    out = [ValueCounts(value, {name: int(n or 0) for name, n in zip(COUNTERS, values, strict=True)})
           for value, *values in rows]
    out = [v for v in out if v.counts[order_by]]
    return sorted(out, key=lambda v: (-v.counts[order_by], v.value))


def complaints_by_department(session: Session, start: datetime, end: datetime) -> list[tuple[Department | None, int]]:
    """Complaint work orders opened in [start, end) per department responsible (None: not routed to one),
    busiest first (merged-away orders left out)."""
    rows = session.execute(select(WorkOrder.department_id, func.count())
                           .where(WorkOrder.problem_type == "complaint", WorkOrder.created_at >= start,
                                  WorkOrder.created_at < end, WorkOrder.merged_into_id.is_(None))
                           .group_by(WorkOrder.department_id)).all()
    ids = [d for d, _ in rows if d]
    departments = {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(ids)))} if ids else {}
    found = [(departments.get(d) if d else None, int(n)) for d, n in rows]
    return sorted(found, key=lambda dn: (-dn[1], dn[0].code if dn[0] else "~"))


@dataclass(frozen=True, slots=True)
class AgentFigures:
    staff: Staff
    open_orders: int  # assigned to them now, not resolved or closed
    resolved: int  # resolved in the period
    resolution: metrics.Durations  # opened -> resolved, of the orders they resolved in the period
    csat: metrics.Csat  # surveys answered in the period on orders assigned to them
    first_response: metrics.Durations  # opened -> first response, of the orders opened in the period they answered


def agent_figures(session: Session, start: datetime, end: datetime) -> list[AgentFigures]:
    """Every staff member with an open order now, an order resolved in the period, a survey in it, or the first
    response to an order opened in it; most open orders first."""
    open_now: dict[str, int] = {}
    for who, n in session.execute(select(WorkOrder.assignee_id, func.count())
                                  .where(WorkOrder.status_category.in_(OPEN_CATEGORIES),
                                         WorkOrder.assignee_id.is_not(None))
                                  .group_by(WorkOrder.assignee_id)):
        if who is not None:
            open_now[who] = int(n)
    spans: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for who, opened, resolved in session.execute(
            select(WorkOrder.assignee_id, WorkOrder.created_at, WorkOrder.resolved_at)
            .where(WorkOrder.resolved_at >= start, WorkOrder.resolved_at < end, WorkOrder.assignee_id.is_not(None),
                   WorkOrder.merged_into_id.is_(None))):
        if who is not None:
            spans[who].append((opened, resolved))
    ratings: dict[str, list[int]] = defaultdict(list)
    for who, rating in session.execute(
            select(WorkOrder.assignee_id, SatisfactionSurvey.rating)
            .join(WorkOrder, WorkOrder.id == SatisfactionSurvey.work_order_id)
            .where(SatisfactionSurvey.answered_at >= start, SatisfactionSurvey.answered_at < end,
                   SatisfactionSurvey.rating.is_not(None), WorkOrder.assignee_id.is_not(None))):
        if who is not None and rating is not None:
            ratings[who].append(rating)
    first = metrics.first_response_by_agent(answered_orders(session, start, end))
    ids = set(open_now) | set(spans) | set(ratings) | set(first)
    people = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))} if ids else {}
    out = [AgentFigures(people[i], open_now.get(i, 0), len(spans[i]), metrics.durations(spans[i]),
                        metrics.csat(ratings[i]), first.get(i, metrics.durations([])))
           for i in ids if i in people]
    return sorted(out, key=lambda a: (-a.open_orders, -a.resolved, a.staff.display_name))
