"""What the forecast's entry points share: the checked request and the cached answer as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

from sqlalchemy.orm import Session

from caredesk.analytics.forecast import Forecast, ForecastCache, Staffing, forecast_volume
from caredesk.analytics.rollups import DIMENSIONS, TOTAL, hour_of
from caredesk.errors import InvalidInput

__all__ = ["ForecastRequest", "check_forecast_request", "forecast_json"]

MAX_DAYS = 14


@dataclass(frozen=True, slots=True)
class ForecastRequest:
    dimension: str
    value: str
    counter: Literal["messages", "complaints"]
    days: int
    granularity: Literal["hour", "day"]


def check_forecast_request(dimension: str, value: str | None, counter: str, days: int | str, granularity: str
                           ) -> ForecastRequest:
    if dimension != TOTAL and dimension not in DIMENSIONS:
        raise InvalidInput(f"dimension must be one of {', '.join((TOTAL, *DIMENSIONS))}", field="dimension")
    if dimension == TOTAL:
        value = ""
    elif not value or len(value) > 64:
        raise InvalidInput("value is required (1-64 characters) for this dimension", field="value")
    if counter not in ("messages", "complaints"):
        raise InvalidInput("counter must be messages or complaints", field="counter")
    days = int(days) if isinstance(days, int) or (days.isascii() and days.isdecimal()) else 0
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}", field="days")
    if granularity not in ("hour", "day"):
        raise InvalidInput("granularity must be hour or day", field="granularity")
    return ForecastRequest(dimension, value, counter, days, granularity)  # type: ignore[arg-type]


def forecast_json(session: Session, req: ForecastRequest, *, now: datetime, zone: tzinfo, cache: ForecastCache,
                  staffing: Staffing) -> dict[str, Any]:
    """The totals' message forecast carries `staff_needed` (per hour; per day: for its busiest hour)."""
    staff = staffing if req.dimension == TOTAL and req.counter == "messages" else None
    key = (req, staff, hour_of(now))
    forecast = cache.get(key)
    if forecast is None:
        forecast = forecast_volume(session, dimension=req.dimension, value=req.value, counter=req.counter, now=now,
                                   days=req.days, granularity=req.granularity, zone=zone, staffing=staff)
        cache.put(key, forecast)
    return _as_json(req, forecast, staff, zone)


def _as_json(req: ForecastRequest, forecast: Forecast, staff: Staffing | None, zone: tzinfo) -> dict[str, Any]:
    points = []
    for p in forecast.points:
        point: dict[str, Any] = {"time": p.time.astimezone(zone).isoformat(), "expected": p.expected,
                                 "lower": p.lower, "upper": p.upper}
        if p.staff_needed is not None:
            point["staff_needed"] = p.staff_needed
        points.append(point)
    body: dict[str, Any] = {"dimension": req.dimension, "value": req.value, "counter": req.counter,
                            "days": req.days, "granularity": req.granularity, "method": forecast.method,
                            "history_hours": forecast.history_hours, "interval": forecast.interval, "points": points}
    if staff is not None:
        body["staffing"] = {"aht_seconds": staff.aht_seconds, "answer_within_seconds": staff.within_seconds,
                            "service_level": staff.target}
    return body
