"""Background analytics tasks: every hour, recompute the hourly work-order figures of the recent days (the ones
a reopen or a returning customer can still change), and the team page's forecast (analytics/team_forecast.py);
registered by the composition root. Idempotent: a repeated run stores the same figures, and a forecast already
stored for this hour is not computed again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session

from caredesk.analytics.order_hours import REFRESH, do_refresh_order_hours
from caredesk.clock import Clock
from caredesk.settings import Settings
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context

__all__ = ["AnalyticsTaskDeps", "ForecastTaskDeps", "refresh_order_hours", "refresh_team_forecast"]

log = logging.getLogger(__name__)


class AnalyticsTaskDeps(Protocol):
    clock: Clock

    @property
    def session_factory(self) -> Callable[[], Session]: ...


def refresh_order_hours() -> int:
    rt: AnalyticsTaskDeps = task_context()
    now = rt.clock.now()
    hours = do_refresh_order_hours(rt.session_factory, now - REFRESH, now, now=now)
    log.info("analytics: %d hours of work-order figures recomputed", hours)
    return hours


class ForecastTaskDeps(AnalyticsTaskDeps, Protocol):
    settings: Settings
    queue: TaskQueue


def refresh_team_forecast() -> str:
    """Compute and store the team forecast for this hour unless it is stored already: 'stored' or 'current'."""
    from caredesk.analytics.forecast import Staffing
    from caredesk.analytics.rollups import hour_of
    from caredesk.analytics.team_forecast import QueueStore, compute_team_forecast

    rt: ForecastTaskDeps = task_context()
    now = rt.clock.now()
    store = QueueStore(rt.queue.huey)
    stored = store.get()
    if stored is not None and stored.complete and stored.hour == hour_of(now):
        return "current"
    st = rt.settings
    plan = Staffing(st.forecast_aht_seconds, st.forecast_answer_within_seconds, st.forecast_service_level)
    with rt.session_factory() as session:
        forecast = compute_team_forecast(session, now=now, zone=st.display_timezone, plan=plan)
    store.put(forecast)
    log.info("analytics: team forecast stored (%d series, %d hours of staffing)", len(forecast.series),
             len(forecast.staffing))
    return "stored"
