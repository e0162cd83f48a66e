"""Background analytics task: every hour, recompute the hourly work-order figures of the recent days (the ones a
reopen or a returning customer can still change); registered as a periodic task by the composition root.
Idempotent: a repeated run stores the same figures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session

from caredesk.analytics.order_hours import REFRESH, do_refresh_order_hours
from caredesk.clock import Clock
from caredesk.tasks.context import task_context

__all__ = ["AnalyticsTaskDeps", "refresh_order_hours"]

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
