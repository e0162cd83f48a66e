"""The quarter-hourly surge detection task (registered in bootstrap.py)."""

from __future__ import annotations

from typing import Protocol

from caredesk.alarms.strategy import AlarmStrategy
from caredesk.analytics.thresholds import load_thresholds
from caredesk.clock import Clock
from caredesk.settings import Settings
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context
from caredesk.text.encoder import Embedder

__all__ = ["detect_surges"]


class SurgeTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    queue: TaskQueue
    alarm_strategy: AlarmStrategy  # its quiet hours hold surge notices as they hold alarms

    @property
    def embedder(self) -> Embedder: ...

    def uow(self) -> UnitOfWork: ...


def detect_surges() -> int:
    """Two minutes past each quarter hour (late messages of the quarter are in): judge the quarter that just
    ended, once across every worker running the schedule; a surge that opens or resolves is told as the
    thresholds file's `surges` section says, detected as its `detection` sets (read each time, like the rules).
    Returns the number opened."""
    # imported when the task runs: detection's statistics (scipy) stay out of processes that only serve
    from caredesk.analytics.surge_actions import do_detect_surges
    from caredesk.analytics.surge_scan import scan_params

    rt: SurgeTaskDeps = task_context()
    now = rt.clock.now()
    if not rt.queue.first_this_minute("detect_surges", now):
        return 0
    surges = load_thresholds(rt.settings.analytics_thresholds_file).surges
    return len(do_detect_surges(rt.uow(), now=now, params=scan_params(surges.detection),
                                tz=rt.settings.display_timezone, notices=surges, quiet=rt.alarm_strategy.quiet_hours,
                                embedder=rt.embedder).opened)
