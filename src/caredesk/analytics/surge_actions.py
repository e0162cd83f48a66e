"""Surge detection: judge the last complete quarter hour of every series (do_detect_surges, run every 15 minutes)
and replay a past period quarter by quarter in time order (replay_surges, after a history import). Each owns its
transaction. The lifecycle a supervisor drives is in caredesk.analytics.surge_lifecycle.

The detector (analytics/surge_scan.py) fits its baseline on the hourly roll-up and judges the last four hours in
quarter hours, counted from the messages themselves (analytics/sources.py facts_between: the roll-up is hourly)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.strategy import QuietHours
from caredesk.analytics.rollups import VALUE_MAX, hour_of, hourly_counts
from caredesk.analytics.sources import facts_between
from caredesk.analytics.surge import HOUR, WEEK_HOURS
from caredesk.analytics.surge_lifecycle import SERIES_DIMENSIONS
from caredesk.analytics.surge_notices import tell_surge
from caredesk.analytics.surge_report import build_report
from caredesk.analytics.surge_scan import (
    QUARTER,
    SPAN_HOURS,
    ScanJudgement,
    ScanParams,
    SpanExpectation,
    expected_dimension,
    explained_counts,
    judge_quarter,
    scan_quarter,
)
from caredesk.analytics.surge_status import ACTIVE, SurgeStatus, SurgeStep, check_surge_move, next_step
from caredesk.analytics.thresholds import SurgeNotices
from caredesk.storage.orm import Surge
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.text.encoder import Embedder, default_embedder

__all__ = ["DetectionRun", "do_detect_surges", "quarter_of", "replay_surges"]

CHART_HOURS = 48  # hours before the window shown on the report's chart
# Quarter counts are read this far before the judged span: an active surge's window ends at most three hours
# (the quiet hours that resolve it) before the judged quarter, and its growth is counted from there.
QUARTERS_BEFORE_SPAN = timedelta(hours=1)
REPLAY_CHUNK = timedelta(days=1)  # a replay reads the messages' quarter counts a day at a time

Array = np.ndarray[Any, np.dtype[np.float64]]
Dense = dict[str, dict[str, Array]]  # dimension -> value -> counts (hourly or quarter-hourly) from a start
Series = tuple[str, str]  # (dimension, value)
Fits = dict[tuple[str, datetime], dict[str, SpanExpectation | None]]  # (dimension, span start) -> baselines


@dataclass(frozen=True)
class _Telling:
    """How a live run tells (a replay of history tells nobody): who and over which channels, and the centre's
    time zone for the times in the words."""

    notices: SurgeNotices
    tz: tzinfo = UTC
    quiet: QuietHours | None = None  # the alarm strategy's quiet hours hold SMS and e-mail as for alarms


@dataclass
class DetectionRun:
    """What one or more judged quarter hours did: surge ids opened, extended and resolved on their own."""

    hours: int = 0  # the hours judged (four quarter hours each)
    opened: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    explained: list[tuple[str, str, str]] = field(default_factory=list)  # (surge id, dimension, value) of a
    # series whose rise that surge accounted for: recorded on it, not opened


@dataclass
class _Counts:
    """Every series' hourly counts (the roll-up) and quarter-hour counts (the messages), each from its start, and
    per quarter the series each message counted in (for what one surge accounts for in another series)."""

    hourly_start: datetime
    hourly: Dense
    quarter_start: datetime
    quarters: Dense
    members: list[list[frozenset[Series]]] = field(default_factory=list)

    def shared(self, one: Series, other: Series, q0: int, q1: int) -> Array:
        """Per quarter in [q0, q1), the messages counted in both series."""
        return np.array([sum(1 for m in self.members[i] if one in m and other in m) for i in range(q0, q1)],
                        dtype=np.float64)


def quarter_of(moment: datetime) -> datetime:
    at = moment.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _history_hours(params: ScanParams) -> int:
    return params.fit.history_weeks * WEEK_HOURS + SPAN_HOURS


def _offset_hours(tz: tzinfo, at: datetime) -> int:
    offset = at.astimezone(tz).utcoffset()
    return int(offset.total_seconds() // 3600) if offset else 0


def _index(at: datetime, start: datetime, step: timedelta) -> int:
    return int((at - start) // step)


def _dense(cells: dict[datetime, int], start: datetime, hours: int) -> Array:
    out = np.zeros(hours)
    for hour, count in cells.items():
        i = _index(hour, start, HOUR)
        if 0 <= i < hours:
            out[i] = count
    return out


def _read_hourly(session: Session, start: datetime, end: datetime) -> Dense:
    """Every series' hourly counts over [start, end), as arrays from `start` (read once, sliced per hour)."""
    hours = _index(end, start, HOUR)
    return {d: {v: _dense(cells, start, hours) for v, cells in hourly_counts(session, d, start, end).items()}
            for d in SERIES_DIMENSIONS}


def _read_quarters(session: Session, start: datetime, end: datetime
                   ) -> tuple[Dense, list[list[frozenset[Series]]]]:
    """Every series' quarter-hour counts over [start, end) from the messages (counted as the roll-up counts them:
    analytics/facts.py, values cut at VALUE_MAX), and per quarter each message's series."""
    n = _index(end, start, QUARTER)
    out: dict[str, dict[str, Array]] = {d: defaultdict(lambda: np.zeros(n)) for d in SERIES_DIMENSIONS}
    members: list[list[frozenset[Series]]] = [[] for _ in range(n)]
    for fact in facts_between(session, start, end):
        at = fact.received_at if fact.received_at.tzinfo else fact.received_at.replace(tzinfo=UTC)
        i = _index(at, start, QUARTER)
        if not 0 <= i < n:
            continue
        series = frozenset((d, v[:VALUE_MAX]) for d in SERIES_DIMENSIONS for v in fact.values.get(d, ()) if v)
        members[i].append(series)
        for dimension, value in series:
            out[dimension][value][i] += 1
    return {d: dict(values) for d, values in out.items()}, members


def _active(session: Session) -> dict[Series, Surge]:
    return {(s.dimension, s.value): s
            for s in session.scalars(select(Surge).where(Surge.status.in_([a.value for a in ACTIVE])))}


def _chart(series: Array, start: datetime, surge: Surge, expected: dict[str, float]) -> list[dict[str, Any]]:
    first = max(0, _index(surge.window_start, start, HOUR) - CHART_HOURS)
    last = -(-(surge.window_end - start) // HOUR)  # the window's last hour, even when it ends within it
    hours = []
    for i in range(first, min(last, len(series))):
        at = (start + i * HOUR).isoformat()
        hours.append({"hour": at, "observed": int(series[i]), "expected": expected.get(at)})
    return hours


@dataclass(frozen=True)
class _Quarter:
    """Where the judged quarter hour's span and its baseline's history lie in the counts."""

    span_start: datetime  # the judged span's first hour
    lo: int  # the fit's first hour and the span's first (fit_end), as indices of the hourly counts
    fit_end: int
    q0: int  # the span's quarters, as indices of the quarter counts
    q1: int


def _where(counts: _Counts, quarter: datetime, params: ScanParams) -> _Quarter:
    span_start = hour_of(quarter) - (SPAN_HOURS - 1) * HOUR
    fit_end = _index(span_start, counts.hourly_start, HOUR)
    return _Quarter(span_start, max(0, fit_end - params.fit.history_weeks * WEEK_HOURS), fit_end,
                    _index(span_start, counts.quarter_start, QUARTER),
                    _index(quarter, counts.quarter_start, QUARTER) + 1)


def _fitted(counts: _Counts, where: _Quarter, dimension: str, values: list[str], params: ScanParams, offset: int,
            fits: Fits) -> dict[str, SpanExpectation | None]:
    """The dimension's baselines for the hour (cached in `fits`: the same for the hour's four quarters)."""
    key = (dimension, where.span_start)
    if key not in fits:
        hourly = counts.hourly.get(dimension, {})
        fits[key] = expected_dimension(
            {v: None if (full := hourly.get(v)) is None else full[where.lo:where.fit_end] for v in values},
            counts.hourly_start + where.lo * HOUR, params=params, utc_offset_hours=offset)
    return fits[key]


def _values(counts: _Counts, dimension: str, active: dict[Series, Surge]) -> list[str]:
    return sorted(set(counts.hourly.get(dimension, {})) | set(counts.quarters.get(dimension, {}))
                  | {v for d, v in active if d == dimension})


def _span(counts: _Counts, where: _Quarter, series: Series) -> Array:
    full = counts.quarters.get(series[0], {}).get(series[1])
    return full[where.q0:where.q1] if full is not None else np.zeros(where.q1 - where.q0)


def _explaining(counts: _Counts, where: _Quarter, series: Series, span: Array, expectation: SpanExpectation,
                active: dict[Series, Surge], params: ScanParams, offset: int, fits: Fits
                ) -> tuple[Surge, ScanJudgement] | None:
    """The active surge of a more specific dimension (earlier in SERIES_DIMENSIONS) that accounts for this
    series' rise, with this series' judgement once that surge's excess is taken out; None when the rise is the
    series' own. A quiet topic rising fivefold lifts its channel and content type: one surge, the topic's, told
    once. Never the other way: a channel that rose first does not swallow the topic that explains it."""
    rank = SERIES_DIMENSIONS.index(series[0])
    best: tuple[float, Surge, Array] | None = None
    for other, surge in active.items():
        if SERIES_DIMENSIONS.index(other[0]) >= rank:
            continue
        fit = _fitted(counts, where, other[0], _values(counts, other[0], active), params, offset, fits).get(other[1])
        if fit is None:
            continue
        other_span = _span(counts, where, other)
        part = explained_counts(other_span, fit.quarters[:len(other_span)],
                                counts.shared(series, other, where.q0, where.q1))
        if best is None or part.sum() > best[0]:
            best = (float(part.sum()), surge, part)
    if best is None or best[0] <= 0:
        return None
    rest = scan_quarter(np.maximum(span - best[2], 0.0), expectation, where.span_start, params=params)
    return None if rest.surge else (best[1], rest)


def _link_aggregates(counts: _Counts, where: _Quarter, series: Series, span: Array, expectation: SpanExpectation,
                     surge: Surge, active: dict[Series, Surge], params: ScanParams, offset: int, fits: Fits,
                     end: datetime) -> list[Series]:
    """When `surge` opens, the active surges of less specific dimensions that it accounts for (the aggregate
    crossed first): each still surging, but not once this surge's excess is taken out. Each is noted on this
    surge's report with its id, and gets `explained_by` on its own; it stays active (it was told; a supervisor
    resolves it, or quiet hours do)."""
    rank = SERIES_DIMENSIONS.index(series[0])
    linked = []
    for other, aggregate in active.items():
        if SERIES_DIMENSIONS.index(other[0]) <= rank:
            continue
        fit = _fitted(counts, where, other[0], _values(counts, other[0], active), params, offset, fits).get(other[1])
        if fit is None:
            continue
        other_span = _span(counts, where, other)
        own = scan_quarter(other_span, fit, where.span_start, params=params)
        part = explained_counts(span, expectation.quarters[:len(span)],
                                counts.shared(other, series, where.q0, where.q1))
        if not own.surge or part.sum() <= 0:
            continue
        rest = scan_quarter(np.maximum(other_span - part, 0.0), fit, where.span_start, params=params)
        if rest.surge:
            continue
        _record_raised(surge, other[0], other[1], own, rest, end, surge_id=aggregate.id)
        aggregate.report = {**aggregate.report, "explained_by": {
            "surge_id": surge.id, "dimension": series[0], "value": series[1], "at": end.isoformat()}}
        linked.append(other)
    return linked


def _judge_quarter(session: Session, counts: _Counts, quarter: datetime, active: dict[Series, Surge],
                   params: ScanParams, offset: int, now: datetime, run: DetectionRun, *, tell: _Telling | None,
                   fits: Fits, embedder: Embedder) -> None:
    """Judge the quarter hour starting at `quarter` for every series, the most specific dimension first (a
    topic's surge then accounts for the rise it causes in its aggregates); `fits` caches each dimension's
    baselines for the hour (fitted on the hours before the judged span)."""
    where = _where(counts, quarter, params)
    end = quarter + QUARTER
    for dimension in SERIES_DIMENSIONS:
        values = _values(counts, dimension, active)
        fitted = _fitted(counts, where, dimension, values, params, offset, fits)
        for value in values:
            full = counts.hourly.get(dimension, {}).get(value)
            series = full if full is not None else np.zeros(where.fit_end + SPAN_HOURS)
            span = _span(counts, where, (dimension, value))
            surge = active.get((dimension, value))
            expectation = fitted.get(value)
            if expectation is None:
                judgement = judge_quarter(series[where.lo:where.fit_end], counts.hourly_start + where.lo * HOUR,
                                          span, params=params)
            else:
                judgement = scan_quarter(span, expectation, where.span_start, params=params,
                                         continuing=surge is not None)
            quiet = (end - surge.window_end) // HOUR if surge else 0
            step = next_step(active=surge is not None, surging=judgement.surge, quiet_hours=quiet)
            if step is SurgeStep.OPEN and expectation is not None and (explained := _explaining(
                    counts, where, (dimension, value), span, expectation, active, params, offset, fits)):
                _record_raised(explained[0], dimension, value, judgement, explained[1], end)
                run.explained.append((explained[0].id, dimension, value))
            elif step is SurgeStep.OPEN:
                surge = _open(session, dimension, value, judgement, end, series, counts.hourly_start, embedder)
                if expectation is not None:
                    run.explained += [(surge.id, *other) for other in _link_aggregates(
                        counts, where, (dimension, value), span, expectation, surge, active, params, offset, fits,
                        end)]
                active[(dimension, value)] = surge
                run.opened.append(surge.id)
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


def _record_raised(surge: Surge, dimension: str, value: str, judgement: ScanJudgement, rest: ScanJudgement,
                   end: datetime, *, surge_id: str | None = None) -> None:
    """Note on `surge`'s report that it also raised this series: when first and last, and the window with the
    most messages above the usual (observed, expected, and how many of them the series would have without the
    surge's excess); `surge_id` when the series' own surge had opened before this one."""
    raised = {(r["dimension"], r["value"]): r for r in surge.report.get("also_raised", [])}
    seen = raised.get((dimension, value))
    entry = {"dimension": dimension, "value": value, "first_at": seen["first_at"] if seen else end.isoformat(),
             "last_at": end.isoformat(), "observed": judgement.observed, "expected": judgement.expected,
             "without_surge": rest.observed}
    known_id = surge_id or (seen or {}).get("surge_id")
    if known_id:
        entry["surge_id"] = known_id
    if seen and seen["observed"] - seen["expected"] >= judgement.observed - judgement.expected:
        entry |= {k: seen[k] for k in ("observed", "expected", "without_surge")}
    raised[(dimension, value)] = entry
    surge.report = {**surge.report, "also_raised": list(raised.values())}


def _by_hour(start: datetime, quarters: tuple[float, ...] | list[float]) -> dict[str, float]:
    """Quarter-hour expected counts from `start`, summed per hour (the chart is hourly)."""
    out: dict[str, float] = defaultdict(float)
    for i, value in enumerate(quarters):
        out[hour_of(start + i * QUARTER).isoformat()] += value
    return {k: round(v, 3) for k, v in out.items()}


def _open(session: Session, dimension: str, value: str, judgement: ScanJudgement, end: datetime,
          series: Array, series_start: datetime, embedder: Embedder) -> Surge:
    surge = Surge(dimension=dimension, value=value, window_start=judgement.window_start, window_end=end,
                  detected_at=end, observed=judgement.observed, expected=judgement.expected,
                  status=SurgeStatus.OPEN.value)
    session.add(surge)
    session.flush()
    expected = _by_hour(judgement.window_start, judgement.window_expected)
    surge.report = build_report(session, surge, _chart(series, series_start, surge, expected),
                                embedder=embedder) | {"threshold": judgement.threshold, "expected_by_hour": expected}
    return surge


def _extend(session: Session, surge: Surge, judgement: ScanJudgement, end: datetime, counts: _Counts,
            dimension: str, value: str, series: Array, embedder: Embedder) -> None:
    """The window grows to `end`: the messages since its old end are added (quarter counts), and the quarters
    in between count with this quarter's expected level."""
    added = _index(end, surge.window_end, QUARTER)
    expected = dict(surge.report.get("expected_by_hour") or {})
    for hour, extra in _by_hour(surge.window_end, [judgement.quarter_expected] * added).items():
        expected[hour] = round(expected.get(hour, 0.0) + extra, 3)
    quarters = counts.quarters.get(dimension, {}).get(value)
    if quarters is not None:
        first = max(0, _index(surge.window_end, counts.quarter_start, QUARTER))
        surge.observed += int(quarters[first:_index(end, counts.quarter_start, QUARTER)].sum())
    surge.window_end = end
    surge.expected = round(sum(expected.values()), 3)
    kept = {k: surge.report[k] for k in ("threshold", "also_raised", "explained_by") if k in surge.report}
    surge.report = build_report(session, surge, _chart(series, counts.hourly_start, surge, expected),
                                embedder=embedder) | kept | {"expected_by_hour": expected}


def _read(session: Session, first: datetime, stop: datetime, params: ScanParams) -> _Counts:
    """The counts that judging the quarters in [first, stop) reads: the roll-up from the first span's history
    on, the messages' quarter counts from a little before the first span."""
    span_start = hour_of(first) - (SPAN_HOURS - 1) * HOUR
    hourly_start = span_start - params.fit.history_weeks * WEEK_HOURS * HOUR
    quarter_start = span_start - QUARTERS_BEFORE_SPAN
    quarters, members = _read_quarters(session, quarter_start, stop)
    return _Counts(hourly_start, _read_hourly(session, hourly_start, hour_of(stop - QUARTER) + HOUR),
                   quarter_start, quarters, members)


def do_detect_surges(uow: UnitOfWork, *, now: datetime, params: ScanParams | None = None,
                     tz: tzinfo = UTC, notices: SurgeNotices | None = None, quiet: QuietHours | None = None,
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
        counts = _read(s, quarter, quarter + QUARTER, p)
        _judge_quarter(s, counts, quarter, _active(s), p, _offset_hours(tz, quarter), now, run,
                       tell=_Telling(notices or SurgeNotices(), tz, quiet), fits={},
                       embedder=embedder or default_embedder())
        uow.commit()
    return run


def replay_surges(uow: UnitOfWork, start: datetime, end: datetime, *, params: ScanParams | None = None,
                  tz: tzinfo = UTC, embedder: Embedder | None = None) -> DetectionRun:
    """Detection over the complete quarter hours in [start, end) in time order, as it would have run live: each
    surge's `detected_at` is the end of the quarter hour at which it would have fired. One transaction: a
    replay lands whole. The counts are read a day at a time; surges still active at `end` stay open."""
    p = params or ScanParams()
    first, stop = quarter_of(start), quarter_of(end)
    run = DetectionRun()
    embed = embedder or default_embedder()
    with uow:
        s = uow.session
        active = _active(s)
        chunk = first
        while chunk < stop:
            chunk_end = min(chunk + REPLAY_CHUNK, stop)
            counts = _read(s, chunk, chunk_end, p)
            fits: Fits = {}
            quarter = chunk
            while quarter < chunk_end:
                if quarter.minute == 0:
                    fits.clear()
                _judge_quarter(s, counts, quarter, active, p, _offset_hours(tz, quarter), quarter + QUARTER, run,
                               tell=None, fits=fits, embedder=embed)
                quarter += QUARTER
            chunk = chunk_end
        run.hours = _index(stop, first, HOUR)
        uow.commit()
    return run
