"""What surge detection reads: every series' hourly counts (the roll-up, for the baselines) and quarter-hour counts
(the messages themselves, for the judged span: the roll-up is hourly), read once for a run or a day of a replay;
and one judged quarter hour's view of them (where its span and its baselines' history lie, each dimension's
baselines for its hour)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from caredesk.analytics.rollups import VALUE_MAX, hour_of, hourly_counts
from caredesk.analytics.sources import customer_facts_between
from caredesk.analytics.surge import HOUR, WEEK_HOURS
from caredesk.analytics.surge_lifecycle import SERIES_DIMENSIONS
from caredesk.analytics.surge_scan import QUARTER, SPAN_HOURS, ScanParams, SpanExpectation, expected_dimension

__all__ = ["Array", "Fits", "QuarterView", "Series", "SeriesCounts", "busiest_customers_excess", "index",
           "read_counts"]

# Quarter counts are read this far before the judged span: an active surge's window ends at most three hours
# (the quiet hours that resolve it) before the judged quarter, and its growth is counted from there.
QUARTERS_BEFORE_SPAN = timedelta(hours=1)

Array = np.ndarray[Any, np.dtype[np.float64]]
Dense = dict[str, dict[str, Array]]  # dimension -> value -> counts (hourly or quarter-hourly) from a start
Series = tuple[str, str]  # (dimension, value)
Fits = dict[tuple[str, datetime], dict[str, SpanExpectation | None]]  # (dimension, span start) -> baselines


def index(at: datetime, start: datetime, step: timedelta) -> int:
    return int((at - start) // step)


@dataclass
class SeriesCounts:
    """Every series' hourly counts (the roll-up) and quarter-hour counts (the messages), each from its start, and
    per quarter each message's customer and the series it counted in (for what one surge accounts for in another
    series, and for what its busiest customer adds)."""

    hourly_start: datetime
    hourly: Dense
    quarter_start: datetime
    quarters: Dense
    members: list[list[tuple[str, frozenset[Series]]]] = field(default_factory=list)


def _dense(cells: dict[datetime, int], start: datetime, hours: int) -> Array:
    out = np.zeros(hours)
    for hour, count in cells.items():
        i = index(hour, start, HOUR)
        if 0 <= i < hours:
            out[i] = count
    return out


def _read_hourly(session: Session, start: datetime, end: datetime) -> Dense:
    """Every series' hourly counts over [start, end), as arrays from `start` (read once, sliced per hour)."""
    hours = index(end, start, HOUR)
    return {d: {v: _dense(cells, start, hours) for v, cells in hourly_counts(session, d, start, end).items()}
            for d in SERIES_DIMENSIONS}


def _read_quarters(session: Session, start: datetime, end: datetime
                   ) -> tuple[Dense, list[list[tuple[str, frozenset[Series]]]]]:
    """Every series' quarter-hour counts over [start, end) from the messages (counted as the roll-up counts them:
    analytics/facts.py, values cut at VALUE_MAX), and per quarter each message's customer and series."""
    n = index(end, start, QUARTER)
    out: dict[str, dict[str, Array]] = {d: defaultdict(lambda: np.zeros(n)) for d in SERIES_DIMENSIONS}
    members: list[list[tuple[str, frozenset[Series]]]] = [[] for _ in range(n)]
    for customer, fact in customer_facts_between(session, start, end):
        at = fact.received_at if fact.received_at.tzinfo else fact.received_at.replace(tzinfo=UTC)
        i = index(at, start, QUARTER)
        if not 0 <= i < n:
            continue
        series = frozenset((d, v[:VALUE_MAX]) for d in SERIES_DIMENSIONS for v in fact.values.get(d, ()) if v)
        members[i].append((customer, series))
        for dimension, value in series:
            out[dimension][value][i] += 1
    return {d: dict(values) for d, values in out.items()}, members


def busiest_customers_excess(series: Series, view: QuarterView, window_start: datetime, top: int) -> Array:
    """Per quarter of the judged span, the series' messages from the `top` customers who wrote most of them in
    the window [window_start, the judged quarter's end), but for each one's first message in the window: what
    counting each of them once takes away."""
    per: dict[str, Array] = defaultdict(lambda: np.zeros(view.q1 - view.q0))
    first: dict[str, int] = {}  # each customer's first quarter in the window
    window_q = index(window_start, view.span_start, QUARTER)
    for i in range(view.q1 - view.q0):
        for customer, member_of in view.counts.members[view.q0 + i]:
            if series in member_of:
                per[customer][i] += 1
                if i >= window_q:
                    first.setdefault(customer, i)
    busiest = sorted(first, key=lambda c: per[c][first[c]:].sum(), reverse=True)[:top]
    excess = np.zeros(view.q1 - view.q0)
    for customer in busiest:
        excess += per[customer]
        excess[first[customer]] -= 1
    return excess


def read_counts(session: Session, first: datetime, stop: datetime, params: ScanParams) -> SeriesCounts:
    """The counts that judging the quarters in [first, stop) reads: the roll-up from the first span's history
    on, the messages' quarter counts from a little before the first span."""
    span_start = hour_of(first) - (SPAN_HOURS - 1) * HOUR
    hourly_start = span_start - params.fit.history_weeks * WEEK_HOURS * HOUR
    quarter_start = span_start - QUARTERS_BEFORE_SPAN
    quarters, members = _read_quarters(session, quarter_start, stop)
    return SeriesCounts(hourly_start, _read_hourly(session, hourly_start, hour_of(stop - QUARTER) + HOUR),
                        quarter_start, quarters, members)


@dataclass(frozen=True)
class QuarterView:
    """One judged quarter hour over the counts: its span (SPAN_HOURS from `span_start`, quarter indices
    [q0, q1)), its baselines' history (hour indices [lo, fit_end)), and each dimension's baselines for the hour,
    cached in `fits` (the same for the hour's four quarters)."""

    counts: SeriesCounts
    params: ScanParams
    offset: int  # the centre's UTC offset in hours, for the baselines' hour of day and weekday
    fits: Fits
    span_start: datetime
    lo: int
    fit_end: int
    q0: int
    q1: int

    @classmethod
    def at(cls, counts: SeriesCounts, quarter: datetime, params: ScanParams, offset: int, fits: Fits
           ) -> QuarterView:
        span_start = hour_of(quarter) - (SPAN_HOURS - 1) * HOUR
        fit_end = index(span_start, counts.hourly_start, HOUR)
        return cls(counts, params, offset, fits, span_start,
                   max(0, fit_end - params.fit.history_weeks * WEEK_HOURS), fit_end,
                   index(span_start, counts.quarter_start, QUARTER), index(quarter, counts.quarter_start, QUARTER) + 1)

    def values(self, dimension: str, active: Iterable[Series]) -> list[str]:
        """The dimension's series to judge: those with counts, and those with an active surge."""
        return sorted(set(self.counts.hourly.get(dimension, {})) | set(self.counts.quarters.get(dimension, {}))
                      | {v for d, v in active if d == dimension})

    def fitted(self, dimension: str, active: Iterable[Series]) -> dict[str, SpanExpectation | None]:
        """The dimension's baselines for the hour (None for a series too young to judge)."""
        key = (dimension, self.span_start)
        if key not in self.fits:
            hourly = self.counts.hourly.get(dimension, {})
            self.fits[key] = expected_dimension(
                {v: None if (full := hourly.get(v)) is None else full[self.lo:self.fit_end]
                 for v in self.values(dimension, active)},
                self.counts.hourly_start + self.lo * HOUR, params=self.params, utc_offset_hours=self.offset)
        return self.fits[key]

    def span(self, series: Series) -> Array:
        """The series' quarter counts over the judged span."""
        full = self.counts.quarters.get(series[0], {}).get(series[1])
        return full[self.q0:self.q1] if full is not None else np.zeros(self.q1 - self.q0)

    def shared(self, one: Series, other: Series) -> Array:
        """Per quarter of the span, the messages counted in both series."""
        return np.array([sum(1 for _, m in self.counts.members[i] if one in m and other in m)
                         for i in range(self.q0, self.q1)], dtype=np.float64)
