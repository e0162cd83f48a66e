"""Background analytics task: every hour, recompute the daily work-order figures of the recent days (the ones a
reopen or a returning customer can still change); registered as a periodic task by the composition root.
Idempotent: a repeated run stores the same figures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from caredesk.analytics.order_days import REFRESH_DAYS, day_of, do_refresh_order_days
from caredesk.clock import Clock
from caredesk.tasks.context import task_context

__all__ = ["AnalyticsTaskDeps", "refresh_order_days"]

log = logging.getLogger(__name__)


class AnalyticsTaskDeps(Protocol):
    clock: Clock

    @property
    def session_factory(self) -> Callable[[], Session]: ...


def refresh_order_days() -> int:
    rt: AnalyticsTaskDeps = task_context()
    now = rt.clock.now()
    days = do_refresh_order_days(rt.session_factory, day_of(now) - timedelta(days=REFRESH_DAYS), now,
                                  now=now)
    log.info("analytics: %d days of work-order figures recomputed", days)
    return days
