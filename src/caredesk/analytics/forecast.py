"""Forecasts of hourly and daily volume (messages or complaints) for the next days, per topic, channel or any
roll-up dimension, with prediction intervals; the staff needed per hour (Erlang C, staffing.py) for the totals.

The model: Holt-Winters (additive weekly season of 168 hours, which holds the daily shape too) on the last
eight weeks of the roll-up, intervals from 200 simulated future paths (so the daily sums get honest intervals);
with less than two weeks of history a seasonal-naive forecast (same hour last week, or yesterday) with bootstrapped
residuals. Chosen by measurement on generated series: docs/analytics-ops.md. statsmodels is imported only
here, inside the fit, so a process that never forecasts never loads it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Literal

import numpy as np
from sqlalchemy.orm import Session

from caredesk.analytics.rollups import hour_of, hourly_counts
from caredesk.analytics.staffing import agents_needed

__all__ = ["WEEK", "Forecast", "ForecastCache", "ForecastPoint", "Method", "Staffing", "forecast_paths",
           "forecast_volume", "history_of"]

WEEK = 168
HISTORY_WEEKS = 8
PATHS = 200
Method = Literal["holt_winters", "seasonal_naive"]


@dataclass(frozen=True, slots=True)
class Staffing:
    aht_seconds: float = 240.0  # average handling time of one contact
    within_seconds: float = 60.0  # answered within this wait...
    target: float = 0.8  # ...for this share of contacts


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    time: datetime  # the hour's (or the day's) start
    expected: float
    lower: float
    upper: float
    staff_needed: int | None = None


@dataclass(frozen=True, slots=True)
class Forecast:
    method: Method
    history_hours: int
    interval: float
    points: tuple[ForecastPoint, ...] = field(default_factory=tuple)


def forecast_paths(history: Sequence[float] | np.ndarray, horizon: int, *, method: Method | None = None,
                   seed: int = 0) -> tuple[Method, np.ndarray]:
    """`PATHS` simulated futures (paths x horizon) of an hourly series; the method is Holt-Winters when two
    weeks of history exist (unless `method` says otherwise), else seasonal naive."""
    y = np.asarray(history, dtype=float)
    chosen: Method = method or ("holt_winters" if len(y) >= 2 * WEEK else "seasonal_naive")
    if chosen == "holt_winters" and len(y) >= 2 * WEEK and y.any():
        return chosen, _holt_winters(y, horizon, seed)
    return "seasonal_naive", _seasonal_naive(y, horizon, seed)


def _holt_winters(y: np.ndarray, horizon: int, seed: int) -> np.ndarray:
    import warnings

    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():  # convergence chatter on flat or short series: the fit is still usable
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(y, trend=None, seasonal="add", seasonal_periods=WEEK,
                                   initialization_method="estimated").fit()
        paths = fit.simulate(horizon, repetitions=PATHS, error="add", anchor="end",
                             random_state=np.random.default_rng(seed))
    out: np.ndarray = np.clip(np.asarray(paths, dtype=float).T, 0, None)
    return out


def _seasonal_naive(y: np.ndarray, horizon: int, seed: int) -> np.ndarray:
    if len(y) == 0:
        return np.zeros((PATHS, horizon))
    period = WEEK if len(y) >= 2 * WEEK else 24 if len(y) >= 48 else 1
    base = np.array([y[len(y) - period + (h % period)] for h in range(horizon)])
    if period > 1:  # the average of the last seasons is steadier than the last one alone
        seasons = min(len(y) // period, 4)
        base = np.mean([[y[len(y) - k * period + (h % period)] for h in range(horizon)]
                        for k in range(1, seasons + 1)], axis=0)
    residuals = y[period:] - y[:-period] if len(y) > period else y - y.mean()
    rng = np.random.default_rng(seed)
    noise = rng.choice(residuals, size=(PATHS, horizon)) if len(residuals) else np.zeros((PATHS, horizon))
    out: np.ndarray = np.clip(base + noise / np.sqrt(2), 0, None)  # a difference of two hours: twice the variance
    return out


def history_of(session: Session, dimension: str, value: str, counter: str, start: datetime) -> list[float]:
    """The hourly counts of the `HISTORY_WEEKS` before `start` (a whole hour), from the first hour that has
    data (a new topic has no eight weeks); empty when nothing was counted."""
    first = start - timedelta(weeks=HISTORY_WEEKS)
    counts = hourly_counts(session, dimension, first, start, counter).get(value, {})
    if counts:
        first = min(counts)
    hours = int((start - first).total_seconds() // 3600)
    return [float(counts.get(first + timedelta(hours=h), 0)) for h in range(hours)]


def forecast_volume(session: Session, *, dimension: str, value: str, counter: str, now: datetime, days: int,
                    granularity: Literal["hour", "day"], zone: tzinfo, interval: float = 0.8,
                    staffing: Staffing | None = None, method: Method | None = None) -> Forecast:
    """The next `days` days from the hour after `now`, hourly or by day in `zone`. With `staffing`, each hour
    (or day: its busiest hour) also says how many agents answer `target` of contacts within the wait."""
    start = hour_of(now) + timedelta(hours=1)
    # The whole hours before the current one: its partial count is no history (it would pull the level down).
    # The model forecasts the current hour too, which is dropped.
    history = history_of(session, dimension, value, counter, hour_of(now))
    hours = len(history)
    horizon = days * 24
    chosen, paths = forecast_paths(history, horizon + 1, method=method)
    paths = paths[:, 1:]
    low_q, high_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    times = [start + timedelta(hours=h) for h in range(horizon)]
    if granularity == "day":
        day_of = [t.astimezone(zone).date() for t in times]
        days_seen = list(dict.fromkeys(day_of))
        index = {d: i for i, d in enumerate(days_seen)}
        sums = np.zeros((paths.shape[0], len(days_seen)))
        peaks = np.zeros(len(days_seen))
        mean = paths.mean(axis=0)
        for h, d in enumerate(day_of):
            sums[:, index[d]] += paths[:, h]
            peaks[index[d]] = max(peaks[index[d]], mean[h])
        starts = [datetime(d.year, d.month, d.day, tzinfo=zone) for d in days_seen]
        return Forecast(chosen, hours, interval, tuple(
            _point(t, sums[:, i], low_q, high_q, peaks[i], staffing) for i, t in enumerate(starts)))
    return Forecast(chosen, hours, interval, tuple(
        _point(t, paths[:, h], low_q, high_q, float(paths[:, h].mean()), staffing) for h, t in enumerate(times)))


def _point(time: datetime, draws: np.ndarray, low_q: float, high_q: float, busiest: float,
           staffing: Staffing | None) -> ForecastPoint:
    staff = (agents_needed(busiest, staffing.aht_seconds, target=staffing.target,
                           within_seconds=staffing.within_seconds) if staffing is not None else None)
    return ForecastPoint(time, round(float(draws.mean()), 2), round(float(np.quantile(draws, low_q)), 2),
                         round(float(np.quantile(draws, high_q)), 2), staff)


class ForecastCache:
    """Forecasts change when an hour of data is added: kept per key until the hour turns (a few dozen keys)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: dict[tuple[object, ...], Forecast] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Forecast | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[object, ...], forecast: Forecast) -> None:
        with self._lock:
            if len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = forecast
