"""Surge actions: judge the last complete hour of every series (do_detect_surges, run hourly), replay a past
period hour by hour in time order (replay_surges, after a history import), and the lifecycle a supervisor
drives (do_acknowledge_surge, do_resolve_surge). Each owns its transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics.rollups import hour_of, hourly_counts
from caredesk.analytics.surge import HOUR, WEEK_HOURS, SurgeJudgement, SurgeParams, judge_hour
from caredesk.analytics.surge_notices import tell_surge
from caredesk.analytics.surge_report import build_report
from caredesk.analytics.surge_status import ACTIVE, SurgeStatus, SurgeStep, check_surge_move, next_step
from caredesk.analytics.thresholds import SurgeNotices
from caredesk.compliance.audit import record_audit
from caredesk.errors import NotFound
from caredesk.storage.orm import Surge
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.text.encoder import Embedder, default_embedder

__all__ = ["SERIES_DIMENSIONS", "DetectionRun", "do_acknowledge_surge", "do_detect_surges",
           "do_resolve_surge", "get_surge", "list_surges", "replay_surges"]

SERIES_DIMENSIONS = ("topic", "product", "content_type", "problem_type", "channel", "branch")
CHART_HOURS = 48  # hours before the window shown on the report's chart


@dataclass(frozen=True)
class _Telling:
    """How a live run tells (a replay of history tells nobody): who and over which channels, and the centre's
    time zone for the times in the words."""

    notices: SurgeNotices
    tz: tzinfo = UTC


@dataclass
class DetectionRun:
    """What one or more judged hours did: surge ids opened, extended and resolved on their own."""

    hours: int = 0
    opened: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def _history_hours(params: SurgeParams) -> int:
    return params.history_weeks * WEEK_HOURS + params.widest_hours


def _offset_hours(tz: tzinfo, at: datetime) -> int:
    offset = at.astimezone(tz).utcoffset()
    return int(offset.total_seconds() // 3600) if offset else 0


def _dense(cells: dict[datetime, int], start: datetime, hours: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    out = np.zeros(hours)
    for hour, count in cells.items():
        i = int((hour - start).total_seconds() // 3600)
        if 0 <= i < hours:
            out[i] = count
    return out


def _active(session: Session) -> dict[tuple[str, str], Surge]:
    return {(s.dimension, s.value): s
            for s in session.scalars(select(Surge).where(Surge.status.in_([a.value for a in ACTIVE])))}


def _chart(series: np.ndarray[Any, np.dtype[np.float64]], start: datetime, surge: Surge,
           expected: dict[str, float]) -> list[dict[str, Any]]:
    first = max(0, int((surge.window_start - start).total_seconds() // 3600) - CHART_HOURS)
    last = int((surge.window_end - start).total_seconds() // 3600)
    hours = []
    for i in range(first, min(last, len(series))):
        at = (start + i * HOUR).isoformat()
        hours.append({"hour": at, "observed": int(series[i]), "expected": expected.get(at)})
    return hours


Dense = dict[str, dict[str, np.ndarray[Any, np.dtype[np.float64]]]]  # dimension -> value -> hourly counts


def _read_dense(session: Session, start: datetime, end: datetime) -> Dense:
    """Every series' hourly counts over [start, end), as arrays from `start` (read once, sliced per hour)."""
    hours = int((end - start).total_seconds() // 3600)
    return {d: {v: _dense(cells, start, hours) for v, cells in hourly_counts(session, d, start, end).items()}
            for d in SERIES_DIMENSIONS}


def _judge_hour(session: Session, counts: Dense, counts_start: datetime,
                hour: datetime, active: dict[tuple[str, str], Surge], params: SurgeParams, offset: int,
                now: datetime, run: DetectionRun, *, tell: _Telling | None, embedder: Embedder) -> None:
    """Judge `hour` (a complete UTC hour) for every series in `counts` (read from `counts_start`)."""
    lo = max(0, int((hour - counts_start).total_seconds() // 3600) - _history_hours(params))
    series_start = counts_start + lo * HOUR
    length = int((hour - series_start).total_seconds() // 3600) + 1
    for dimension in SERIES_DIMENSIONS:
        values = set(counts.get(dimension, {})) | {v for d, v in active if d == dimension}
        for value in sorted(values):
            full = counts.get(dimension, {}).get(value)
            series = full[lo:lo + length] if full is not None else np.zeros(length)
            surge = active.get((dimension, value))
            judgement = judge_hour(series, series_start, params=params, utc_offset_hours=offset,
                                   continuing=surge is not None)
            quiet = int((hour + HOUR - surge.window_end).total_seconds() // 3600) if surge else 0
            step = next_step(active=surge is not None, surging=judgement.surge, quiet_hours=quiet)
            if step is SurgeStep.OPEN:
                surge = _open(session, dimension, value, judgement, hour, series, series_start, embedder)
                active[(dimension, value)] = surge
                run.opened.append(surge.id)
                if tell is not None:
                    tell_surge(session, surge, "opened", tell.notices, now=now, tz=tell.tz)
            elif step is SurgeStep.EXTEND and surge is not None and surge.window_end <= hour:
                _extend(session, surge, judgement, hour, series, series_start, embedder)
                run.extended.append(surge.id)
            elif step is SurgeStep.RESOLVE and surge is not None:
                surge.status = check_surge_move(surge.status, SurgeStatus.RESOLVED)
                surge.resolved_at = now
                surge.report = {**surge.report, "resolved_because": "quiet"}
                del active[(dimension, value)]
                run.resolved.append(surge.id)
                if tell is not None:
                    tell_surge(session, surge, "resolved", tell.notices, now=now, tz=tell.tz)


def _open(session: Session, dimension: str, value: str, judgement: SurgeJudgement, hour: datetime,
          series: np.ndarray[Any, np.dtype[np.float64]], series_start: datetime, embedder: Embedder) -> Surge:
    surge = Surge(dimension=dimension, value=value, window_start=judgement.window_start, window_end=hour + HOUR,
                  detected_at=hour + HOUR, observed=judgement.observed, expected=judgement.expected,
                  status=SurgeStatus.OPEN.value)
    session.add(surge)
    session.flush()
    expected = _spread(judgement)
    surge.report = build_report(session, surge, _chart(series, series_start, surge, expected),
                                embedder=embedder) | {"threshold": judgement.threshold, "expected_by_hour": expected}
    return surge


def _spread(judgement: SurgeJudgement) -> dict[str, float]:
    """The window's expected count per hour (the judged hour's own; the rest shared evenly)."""
    hours = judgement.window_hours
    rest = max(0.0, judgement.expected - judgement.hour_expected) / max(1, hours - 1)
    return {(judgement.window_start + i * HOUR).isoformat():
            round(judgement.hour_expected if i == hours - 1 else rest, 3) for i in range(hours)}


def _extend(session: Session, surge: Surge, judgement: SurgeJudgement, hour: datetime,
            series: np.ndarray[Any, np.dtype[np.float64]], series_start: datetime, embedder: Embedder) -> None:
    """The window grows to this hour; the quiet hours in between count with this hour's expected level."""
    added = int((hour + HOUR - surge.window_end).total_seconds() // 3600)
    expected = dict(surge.report.get("expected_by_hour") or {})
    for i in range(added):
        expected[(surge.window_end + i * HOUR).isoformat()] = judgement.hour_expected
    surge.window_end = hour + HOUR
    first = int((surge.window_start - series_start).total_seconds() // 3600)
    surge.observed = int(series[max(0, first):].sum())
    surge.expected = round(sum(expected.values()), 3)
    surge.report = build_report(session, surge, _chart(series, series_start, surge, expected),
                                embedder=embedder) | {"threshold": surge.report.get("threshold"),
                                                      "expected_by_hour": expected}


def do_detect_surges(uow: UnitOfWork, *, now: datetime, params: SurgeParams | None = None,
                     tz: tzinfo = UTC, notices: SurgeNotices | None = None,
                     embedder: Embedder | None = None) -> DetectionRun:
    """Judge the last complete hour before `now` for every series. Running it twice for one hour changes
    nothing the second time (the window already reaches the hour; the quiet count is the same). A surge that
    opens or resolves is told (`notices`: the thresholds file's `surges`; the shipped defaults if not given).
    `embedder` clusters the window's messages for the report (the shipped encoder if not given)."""
    p = params or SurgeParams()
    hour = hour_of(now) - HOUR
    start = hour - _history_hours(p) * HOUR
    run = DetectionRun(hours=1)
    with uow:
        s = uow.session
        counts = _read_dense(s, start, hour + HOUR)
        _judge_hour(s, counts, start, hour, _active(s), p, _offset_hours(tz, hour), now, run,
                    tell=_Telling(notices or SurgeNotices(), tz), embedder=embedder or default_embedder())
        uow.commit()
    return run


def replay_surges(uow: UnitOfWork, start: datetime, end: datetime, *, params: SurgeParams | None = None,
                  tz: tzinfo = UTC, embedder: Embedder | None = None) -> DetectionRun:
    """Detection over the complete hours in [start, end) in time order, as it would have run live: each surge's
    `detected_at` is the end of the hour at which it would have fired. One transaction: a replay lands whole.
    The roll-up is read once; surges still active at `end` stay open."""
    p = params or SurgeParams()
    first, stop = hour_of(start), hour_of(end)
    counts_start = first - _history_hours(p) * HOUR
    run = DetectionRun()
    embed = embedder or default_embedder()
    with uow:
        s = uow.session
        counts = _read_dense(s, counts_start, stop)
        active = _active(s)
        hour = first
        while hour < stop:
            _judge_hour(s, counts, counts_start, hour, active, p, _offset_hours(tz, hour), hour + HOUR, run,
                        tell=None, embedder=embed)
            run.hours += 1
            hour += HOUR
        uow.commit()
    return run


def get_surge(session: Session, surge_id: str, *, lock: bool = False) -> Surge:
    stmt = select(Surge).where(Surge.id == surge_id)
    surge = session.scalar(stmt.with_for_update() if lock else stmt)
    if surge is None:
        raise NotFound("surge not found", id=surge_id)
    return surge


def list_surges(session: Session, *, since: datetime | None = None, limit: int = 500,
                statuses: frozenset[SurgeStatus] | None = None, dimension: str | None = None) -> list[Surge]:
    """Newest first; `statuses` and `dimension` narrow the list (the surges page's filter)."""
    stmt = select(Surge)
    if since is not None:
        stmt = stmt.where(Surge.detected_at >= since)
    if statuses is not None:
        stmt = stmt.where(Surge.status.in_(sorted(s.value for s in statuses)))
    if dimension is not None:
        stmt = stmt.where(Surge.dimension == dimension)
    return list(session.scalars(stmt.order_by(Surge.detected_at.desc(), Surge.id).limit(limit)))


def do_acknowledge_surge(uow: UnitOfWork, surge_id: str, *, actor: str, staff_id: str | None,
                         now: datetime) -> Surge:
    with uow:
        surge = get_surge(uow.session, surge_id, lock=True)
        surge.status = check_surge_move(surge.status, SurgeStatus.ACKNOWLEDGED)
        surge.acknowledged_at, surge.acknowledged_by = now, staff_id
        record_audit(uow.session, actor=actor, action="surge.acknowledged", object_type="analytics_surge",
                     object_id=surge.id, data={"dimension": surge.dimension, "value": surge.value}, now=now)
        uow.commit()
    return surge


def do_resolve_surge(uow: UnitOfWork, surge_id: str, *, actor: str, staff_id: str | None, now: datetime,
                     notices: SurgeNotices | None = None, tz: tzinfo = UTC) -> Surge:
    """Resolved by a supervisor: audited, and told once as when it resolves on its own (`notices`: the
    thresholds file's `surges`; the shipped defaults if not given)."""
    with uow:
        surge = get_surge(uow.session, surge_id, lock=True)
        surge.status = check_surge_move(surge.status, SurgeStatus.RESOLVED)
        surge.resolved_at = now
        if surge.acknowledged_at is None:
            surge.acknowledged_at, surge.acknowledged_by = now, staff_id
        record_audit(uow.session, actor=actor, action="surge.resolved", object_type="analytics_surge",
                     object_id=surge.id, data={"dimension": surge.dimension, "value": surge.value}, now=now)
        tell_surge(uow.session, surge, "resolved", notices or SurgeNotices(), now=now, tz=tz)
        uow.commit()
    return surge
