"""The team page's forecast: message and complaint volume of the next days per channel and per busy topic (and
the totals), by day with intervals, and the staff needed each hour (Erlang C) to answer the contacts that go to
a person, with the handling time measured from the work-order log.

A full forecast is a few dozen model fits (seconds to a minute on a large centre), so the worker computes it
every hour (`refresh_team_forecast`, analytics/tasks.py) and keeps it in the task queue's store, which every
process shares (SQLite file embedded, Redis otherwise). A page that finds none at all computes a quick one
(seasonal naive, no model fit) for what fits in a time budget, the totals first, and asks the worker; with an
older one it shows that one, marked with its time, and asks the worker for this hour's. statsmodels is
imported inside the fit (analytics/forecast.py), never here."""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

import numpy as np
from sqlalchemy.orm import Session

from caredesk.analytics import metrics
from caredesk.analytics.agent_times import measured_handling_time
from caredesk.analytics.dashboard import breakdown
from caredesk.analytics.forecast import Method, Staffing, forecast_paths, history_of
from caredesk.analytics.overview import message_sums
from caredesk.analytics.rollups import TOTAL, hour_of
from caredesk.analytics.staffing import agents_needed

__all__ = ["DAYS", "INTERVAL", "STORE_KEY", "DayPoint", "ForecastStore", "QueueStore", "SeriesForecast",
           "StaffHour", "TeamForecast", "compute_team_forecast", "forecast_for_page"]

DAYS = 14
INTERVAL = 0.8  # the band: 10th to 90th percentile of the simulated futures
TOPICS = 6  # the busiest topics of the last four weeks get their own forecast
CHANNELS = 8
RECENT = timedelta(weeks=4)  # "busiest" and the share handed to a person are read over this
MIN_MEASURED = 20  # fewer measured answers than this: the configured handling time is used
STORE_KEY = "analytics:team_forecast"


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date  # a local day in the centre's zone
    expected: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class SeriesForecast:
    dimension: str  # "all" (the totals), "channel" or "topic"
    value: str
    method: str
    history_hours: int
    messages: tuple[DayPoint, ...]
    complaints: tuple[DayPoint, ...]

    @property
    def key(self) -> str:
        return TOTAL if self.dimension == TOTAL else f"{self.dimension}:{self.value}"


@dataclass(frozen=True, slots=True)
class StaffHour:
    start: datetime  # UTC
    contacts: float  # expected contacts for a person in the hour
    staff: int


@dataclass(frozen=True, slots=True)
class TeamForecast:
    hour: datetime  # the data up to this hour's start was used (UTC); a forecast is current for one hour
    computed_at: datetime
    series: tuple[SeriesForecast, ...]
    staffing: tuple[StaffHour, ...]
    aht_seconds: float  # the handling time planned with
    aht_measured: bool  # measured from the log (else the configured CAREDESK_FORECAST_AHT_SECONDS)
    aht_contacts: int  # answers measured
    handled_share: float  # share of messages that go to a person (hand-off rate of the last four weeks)
    within_seconds: float
    service_level: float
    complete: bool = True  # False: the time budget ran out before every series was computed
    interval: float = INTERVAL
    days: int = DAYS

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_iso)

    @classmethod
    def from_json(cls, text: str | bytes) -> TeamForecast:
        raw: dict[str, Any] = json.loads(text)
        series = tuple(SeriesForecast(s["dimension"], s["value"], s["method"], s["history_hours"],
                                      _days(s["messages"]), _days(s["complaints"])) for s in raw.pop("series"))
        staffing = tuple(StaffHour(datetime.fromisoformat(h["start"]), h["contacts"], h["staff"])
                         for h in raw.pop("staffing"))
        return cls(hour=datetime.fromisoformat(raw.pop("hour")), computed_at=datetime.fromisoformat(
            raw.pop("computed_at")), series=series, staffing=staffing, **raw)

    def find(self, key: str) -> SeriesForecast | None:
        return next((s for s in self.series if s.key == key), None)


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _days(items: list[dict[str, Any]]) -> tuple[DayPoint, ...]:
    return tuple(DayPoint(date.fromisoformat(p["day"]), p["expected"], p["lower"], p["upper"]) for p in items)


def _by_day(paths: np.ndarray, times: list[datetime], zone: tzinfo) -> tuple[DayPoint, ...]:
    """Daily sums of the simulated futures (so the day's interval is honest), in the centre's local days."""
    days = [t.astimezone(zone).date() for t in times]
    order = list(dict.fromkeys(days))
    index = {d: i for i, d in enumerate(order)}
    sums = np.zeros((paths.shape[0], len(order)))
    for h, d in enumerate(days):
        sums[:, index[d]] += paths[:, h]
    low, high = (1 - INTERVAL) / 2, 1 - (1 - INTERVAL) / 2
    return tuple(DayPoint(d, round(float(sums[:, i].mean()), 1), round(float(np.quantile(sums[:, i], low)), 1),
                          round(float(np.quantile(sums[:, i], high)), 1)) for i, d in enumerate(order))


def _wanted(session: Session, start: datetime) -> list[tuple[str, str]]:
    """The totals, then each channel, then the busiest topics of the last four weeks."""
    out = [(TOTAL, "")]
    for dimension, limit in (("channel", CHANNELS), ("topic", TOPICS)):
        out += [(dimension, v.value) for v in breakdown(session, dimension, start - RECENT, start)[:limit]]
    return out


def compute_team_forecast(session: Session, *, now: datetime, zone: tzinfo, plan: Staffing,
                          budget_seconds: float | None = None, method: Method | None = None,
                          timer: Callable[[], float] = time.monotonic) -> TeamForecast:
    """The forecast from the current hour to the end of the `DAYS`th local day after today (the rest of today,
    then whole days: no partial day at the end), on the whole hours before it. With
    `budget_seconds`, series after the totals are started only while the budget lasts (complete=False when
    some were left out); `method` forces the model (the page's quick one: seasonal naive, no statsmodels)."""
    began = timer()
    start = hour_of(now)  # from the current hour: its partial count is no history (it would pull the level down)
    last = start.astimezone(zone).date() + timedelta(days=DAYS + 1)  # the rest of today, then DAYS whole days
    horizon = int((datetime(last.year, last.month, last.day, tzinfo=zone) - start).total_seconds() // 3600)
    times = [start + timedelta(hours=h) for h in range(horizon)]
    series: list[SeriesForecast] = []
    total_mean = np.zeros(horizon)
    wanted = _wanted(session, start)
    complete = True
    for i, (dimension, value) in enumerate(wanted):
        if i > 0 and budget_seconds is not None and timer() - began > budget_seconds:
            complete = False
            break
        history = history_of(session, dimension, value, "messages", start)
        chosen, paths = forecast_paths(history, horizon, method=method)
        _, complaint_paths = forecast_paths(history_of(session, dimension, value, "complaints", start), horizon,
                                            method=method)
        if dimension == TOTAL:
            total_mean = paths.mean(axis=0)
        series.append(SeriesForecast(dimension, value, chosen, len(history), _by_day(paths, times, zone),
                                     _by_day(complaint_paths, times, zone)))
    totals = message_sums(session, start - RECENT, start, dimensions=()).totals
    share = metrics.handoff_rate(totals)
    handled = 1.0 if share is None else share
    measured = measured_handling_time(session, now)
    use_measured = measured.average_seconds is not None and measured.contacts >= MIN_MEASURED
    aht = float(measured.average_seconds) if use_measured and measured.average_seconds else plan.aht_seconds
    staffing = tuple(StaffHour(t, round(float(m) * handled, 2),
                               agents_needed(float(m) * handled, aht, target=plan.target,
                                             within_seconds=plan.within_seconds))
                     for t, m in zip(times, total_mean, strict=True))
    return TeamForecast(hour_of(now), now, tuple(series), staffing, round(aht, 1), use_measured, measured.contacts,
                        round(handled, 4), plan.within_seconds, plan.target, complete)


class ForecastStore(Protocol):
    def get(self) -> TeamForecast | None: ...

    def put(self, forecast: TeamForecast) -> None: ...


@dataclass
class QueueStore:
    """The latest forecast in the task queue's key-value store (Huey's `put_data`/`peek_data`): shared by
    the worker that computes it and every API process that shows it; one key, overwritten. Written with the
    queue's serializer, so it is well-formed beside the task results in the same store."""

    huey: Any
    key: str = field(default=STORE_KEY)

    def get(self) -> TeamForecast | None:
        raw = self.huey.storage.peek_data(self.key)
        if not isinstance(raw, bytes | str):  # Huey's EmptyData: nothing stored yet
            return None
        try:
            return TeamForecast.from_json(self.huey.serializer.deserialize(raw))
        except (ValueError, KeyError, TypeError, AttributeError, EOFError, pickle.UnpicklingError):
            # written by another version, or garbled: computed again
            return None

    def put(self, forecast: TeamForecast) -> None:
        self.huey.storage.put_data(self.key, self.huey.serializer.serialize(forecast.to_json()))


def forecast_for_page(session: Session, store: ForecastStore, *, now: datetime, zone: tzinfo, plan: Staffing,
                      budget_seconds: float) -> tuple[TeamForecast, bool]:
    """(the forecast to show, whether the worker should compute a fresh one). The stored forecast of this hour
    when there is one; else an older stored one; else a quick one now: seasonal naive (no model fit, no
    statsmodels import: ~50 ms a series, mostly the history read) for what fits in `budget_seconds`, never
    stored (the worker's Holt-Winters replaces it)."""
    stored = store.get()
    if stored is not None and stored.hour == hour_of(now) and stored.complete:
        return stored, False
    if stored is not None:
        return stored, True
    quick = compute_team_forecast(session, now=now, zone=zone, plan=plan, budget_seconds=budget_seconds,
                                  method="seasonal_naive")
    return quick, True
