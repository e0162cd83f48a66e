"""Surge detection: judge the last complete quarter hour of every series (do_detect_surges, run every 15 minutes),
replay a past period quarter by quarter in time order (replay_surges, after a history import), and try settings on
a past period without storing anything (try_surges). Each owns its transaction. The lifecycle a supervisor drives
is in caredesk.analytics.surge_lifecycle.

The detector (analytics/surge_scan.py) fits its baseline on the hourly roll-up and judges the last four hours in
quarter hours, counted from the messages themselves (analytics/sources.py customer_facts_between: the roll-up is
hourly; the customer is kept for the burst rule)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.strategy import QuietHours
from caredesk.analytics.rollups import hour_of
from caredesk.analytics.surge import HOUR
from caredesk.analytics.surge_attribution import explaining_surge, link_aggregates, record_raised
from caredesk.analytics.surge_counts import (
    Array,
    Fits,
    QuarterView,
    Series,
    SeriesCounts,
    busiest_customers_excess,
    index,
    read_counts,
)
from caredesk.analytics.surge_notices import tell_surge
from caredesk.analytics.surge_report import build_report
from caredesk.analytics.surge_scan import (
    QUARTER,
    SPAN_HOURS,
    ScanJudgement,
    ScanParams,
    SpanExpectation,
    judge_quarter,
    scan_quarter,
)
from caredesk.analytics.surge_status import ACTIVE, SurgeStatus, SurgeStep, check_surge_move, next_step
from caredesk.analytics.thresholds import SurgeSettings
from caredesk.ids import new_id
from caredesk.storage.orm import Surge
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.text.encoder import Embedder, default_embedder

__all__ = ["DetectionRun", "do_detect_surges", "quarter_of", "replay_surges", "try_surges"]

CHART_HOURS = 48  # hours before the window shown on the report's chart
REPLAY_CHUNK = timedelta(days=1)  # a replay reads the messages' quarter counts a day at a time


@dataclass(frozen=True)
class _Telling:
    """How a live run tells (a replay of history tells nobody): who and over which channels, and the centre's
    time zone for the times in the words."""

    notices: SurgeSettings
    tz: tzinfo = UTC
    quiet: QuietHours | None = None  # the alarm strategy's quiet hours hold SMS and e-mail as for alarms


@dataclass
class DetectionRun:
    """What one or more judged quarter hours did: surge ids opened, extended and resolved on their own."""

    hours: int = 0  # the hours judged (four quarter hours each)
    rows: list[Surge] = field(default_factory=list)  # the surges opened, in that order
    extended: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    few_customers: list[Series] = field(default_factory=list)  # would have opened, but not with the window's
    # busiest customer(s) counted once
    explained: list[tuple[str, str, str]] = field(default_factory=list)  # (surge id, dimension, value) of a
    # series whose rise that surge accounted for: recorded on it, not opened

    @property
    def opened(self) -> list[str]:
        """The ids of the surges opened, in that order."""
        return [surge.id for surge in self.rows]


def quarter_of(moment: datetime) -> datetime:
    at = moment.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _offset_hours(tz: tzinfo, at: datetime) -> int:
    offset = at.astimezone(tz).utcoffset()
    return int(offset.total_seconds() // 3600) if offset else 0


def _active(session: Session) -> dict[Series, Surge]:
    return {(s.dimension, s.value): s
            for s in session.scalars(select(Surge).where(Surge.status.in_([a.value for a in ACTIVE])))}


def _chart(series: Array, start: datetime, surge: Surge, expected: dict[str, float]) -> list[dict[str, Any]]:
    first = max(0, index(surge.window_start, start, HOUR) - CHART_HOURS)
    last = -(-(surge.window_end - start) // HOUR)  # the window's last hour, even when it ends within it
    hours = []
    for i in range(first, min(last, len(series))):
        at = (start + i * HOUR).isoformat()
        hours.append({"hour": at, "observed": int(series[i]), "expected": expected.get(at)})
    return hours


def _judge_quarter(session: Session, counts: SeriesCounts, quarter: datetime, active: dict[Series, Surge],
                   params: ScanParams, offset: int, now: datetime, run: DetectionRun, *, tell: _Telling | None,
                   fits: Fits, embedder: Embedder | None) -> None:
    """Judge the quarter hour starting at `quarter` for every series, the most specific dimension first (a
    topic's surge then accounts for the rise it causes in its aggregates: analytics/surge_attribution.py);
    `fits` caches each dimension's baselines for the hour (fitted on the hours before the judged span). Without
    an `embedder` nothing is stored: the surges are rows outside the session, without reports (a trial)."""
    view = QuarterView.at(counts, quarter, params, offset, fits)
    end = quarter + QUARTER
    for dimension in params.dimensions:
        fitted = view.fitted(dimension, active)
        for value in view.values(dimension, active):
            full = counts.hourly.get(dimension, {}).get(value)
            series = full if full is not None else np.zeros(view.fit_end + SPAN_HOURS)
            span = view.span((dimension, value))
            surge = active.get((dimension, value))
            expectation = fitted.get(value)
            judgement = _judge(view, series, span, expectation, continuing=surge is not None)
            quiet = (end - surge.window_end) // HOUR if surge else 0
            step = next_step(active=surge is not None, surging=judgement.surge, quiet_hours=quiet)
            if step is SurgeStep.OPEN and expectation is not None and (
                    explained := explaining_surge(view, (dimension, value), span, expectation, active)):
                record_raised(explained[0], (dimension, value), judgement, explained[1], end)
                run.explained.append((explained[0].id, dimension, value))
            elif step is SurgeStep.OPEN and not _surges_with_busiest_once(view, (dimension, value), series, span,
                                                                        expectation, judgement):
                run.few_customers.append((dimension, value))
            elif step is SurgeStep.OPEN:
                surge = _open(session, dimension, value, judgement, end, series, counts.hourly_start, embedder)
                if expectation is not None:
                    run.explained += [(surge.id, *other) for other in link_aggregates(
                        view, (dimension, value), span, expectation, surge, active, end)]
                active[(dimension, value)] = surge
                run.rows.append(surge)
                if tell is not None:
                    tell_surge(session, surge, "opened", tell.notices, now=now, tz=tell.tz, quiet=tell.quiet)
            elif step is SurgeStep.EXTEND and surge is not None and surge.window_end < end:
                _extend(session, surge, judgement, end, counts, dimension, value, series, embedder)
                run.extended.append(surge.id)
            elif step is SurgeStep.RESOLVE and surge is not None:
                surge.status = check_surge_move(surge.status, SurgeStatus.RESOLVED)
                surge.resolved_at = now
                surge.report = {**surge.report, "resolved_because": "quiet"}
                del active[(dimension, value)]
                run.resolved.append(surge.id)
                if tell is not None:
                    tell_surge(session, surge, "resolved", tell.notices, now=now, tz=tell.tz, quiet=tell.quiet)


def _judge(view: QuarterView, series: Array, span: Array, expectation: SpanExpectation | None, *,
           continuing: bool = False) -> ScanJudgement:
    """The judged quarter of one series: the scan on its baseline, or the hourly judgement of a series whose
    dimension gave it none."""
    if expectation is None:
        return judge_quarter(series[view.lo:view.fit_end], view.counts.hourly_start + view.lo * HOUR, span,
                             params=view.params)
    return scan_quarter(span, expectation, view.span_start, params=view.params, continuing=continuing)


def _surges_with_busiest_once(view: QuarterView, series_key: Series, series: Array, span: Array,
                              expectation: SpanExpectation | None, judgement: ScanJudgement) -> bool:
    """Whether the series still surges with its window's busiest customers counted once each (one customer's
    burst of messages is a conversation, not a rise); for a series about to open, from the counts already read."""
    top = view.params.busiest_once
    if not top:
        return True
    excess = busiest_customers_excess(series_key, view, judgement.window_start, top)
    return _judge(view, series, np.maximum(span - excess, 0.0), expectation).surge


def _by_hour(start: datetime, quarters: tuple[float, ...] | list[float]) -> dict[str, float]:
    """Quarter-hour expected counts from `start`, summed per hour (the chart is hourly)."""
    out: dict[str, float] = defaultdict(float)
    for i, value in enumerate(quarters):
        out[hour_of(start + i * QUARTER).isoformat()] += value
    return {k: round(v, 3) for k, v in out.items()}


def _open(session: Session, dimension: str, value: str, judgement: ScanJudgement, end: datetime,
          series: Array, series_start: datetime, embedder: Embedder | None) -> Surge:
    surge = Surge(dimension=dimension, value=value, window_start=judgement.window_start, window_end=end,
                  detected_at=end, observed=judgement.observed, expected=judgement.expected,
                  status=SurgeStatus.OPEN.value)
    expected = _by_hour(judgement.window_start, judgement.window_expected)
    if embedder is None:  # a trial (try_surges): never in the session, no report
        surge.id, surge.report = new_id(), {"threshold": judgement.threshold, "expected_by_hour": expected}
        return surge
    session.add(surge)
    session.flush()
    surge.report = build_report(session, surge, _chart(series, series_start, surge, expected),
                                embedder=embedder) | {"threshold": judgement.threshold, "expected_by_hour": expected}
    return surge


def _extend(session: Session, surge: Surge, judgement: ScanJudgement, end: datetime, counts: SeriesCounts,
            dimension: str, value: str, series: Array, embedder: Embedder | None) -> None:
    """The window grows to `end`: the messages since its old end are added (quarter counts), and the quarters
    in between count with this quarter's expected level."""
    added = index(end, surge.window_end, QUARTER)
    expected = dict(surge.report.get("expected_by_hour") or {})
    for hour, extra in _by_hour(surge.window_end, [judgement.quarter_expected] * added).items():
        expected[hour] = round(expected.get(hour, 0.0) + extra, 3)
    quarters = counts.quarters.get(dimension, {}).get(value)
    if quarters is not None:
        first = max(0, index(surge.window_end, counts.quarter_start, QUARTER))
        surge.observed += int(quarters[first:index(end, counts.quarter_start, QUARTER)].sum())
    surge.window_end = end
    surge.expected = round(sum(expected.values()), 3)
    kept = {k: surge.report[k] for k in ("threshold", "also_raised", "explained_by") if k in surge.report}
    report = {} if embedder is None else build_report(session, surge, _chart(series, counts.hourly_start, surge,
                                                                             expected), embedder=embedder)
    surge.report = report | kept | {"expected_by_hour": expected}


def do_detect_surges(uow: UnitOfWork, *, now: datetime, params: ScanParams | None = None,
                     tz: tzinfo = UTC, notices: SurgeSettings | None = None, quiet: QuietHours | None = None,
                     embedder: Embedder | None = None) -> DetectionRun:
    """Judge the last complete quarter hour before `now` for every series. Running it twice for one quarter
    changes nothing the second time (the window already reaches it; the quiet count is the same). A surge that
    opens or resolves is told (`notices`: the thresholds file's `surges`; the shipped defaults if not given).
    `embedder` clusters the window's messages for the report (the shipped encoder if not given)."""
    p = params or ScanParams()
    quarter = quarter_of(now) - QUARTER
    run = DetectionRun()
    with uow:
        s = uow.session
        counts = read_counts(s, quarter, quarter + QUARTER, p)
        _judge_quarter(s, counts, quarter, _active(s), p, _offset_hours(tz, quarter), now, run,
                       tell=_Telling(notices or SurgeSettings(), tz, quiet), fits={},
                       embedder=embedder or default_embedder())
        uow.commit()
    return run


def replay_surges(uow: UnitOfWork, start: datetime, end: datetime, *, params: ScanParams | None = None,
                  tz: tzinfo = UTC, embedder: Embedder | None = None) -> DetectionRun:
    """Detection over the complete quarter hours in [start, end) in time order, as it would have run live: each
    surge's `detected_at` is the end of the quarter hour at which it would have fired. One transaction: a
    replay lands whole. The counts are read a day at a time; surges still active at `end` stay open."""
    with uow:
        run = _replay(uow.session, start, end, _active(uow.session), params or ScanParams(),
                      tz, embedder or default_embedder())
        uow.commit()
    return run


def try_surges(session: Session, start: datetime, end: datetime, *, params: ScanParams, tz: tzinfo = UTC
               ) -> list[Surge]:
    """What detection with `params` would have opened over [start, end), as replay_surges judges it, starting
    with no surge active: the surges in the order they opened (rows never added to the session, without
    reports; `status` where they stood at `end`). Reads only: nothing is stored and nobody is told, so a
    centre tries a setting on its history before putting it in the thresholds file."""
    return _replay(session, start, end, {}, params, tz, None).rows


def _replay(session: Session, start: datetime, end: datetime, active: dict[Series, Surge], params: ScanParams,
            tz: tzinfo, embedder: Embedder | None) -> DetectionRun:
    """Judge the quarter hours of [start, end) in time order; the counts are read a day at a time."""
    first, stop = quarter_of(start), quarter_of(end)
    run = DetectionRun()
    chunk = first
    while chunk < stop:
        chunk_end = min(chunk + REPLAY_CHUNK, stop)
        counts = read_counts(session, chunk, chunk_end, params)
        fits: Fits = {}
        quarter = chunk
        while quarter < chunk_end:
            if quarter.minute == 0:
                fits.clear()
            _judge_quarter(session, counts, quarter, active, params, _offset_hours(tz, quarter), quarter + QUARTER,
                           run, tell=None, fits=fits, embedder=embedder)
            quarter += QUARTER
        chunk = chunk_end
    run.hours = index(stop, first, HOUR)
    return run
