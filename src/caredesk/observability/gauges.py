"""What `/metrics` reads at scrape time rather than counting in the process: the task queue's depth, open
alarms and surges, SLA breaches. Cheap queries (a count grouped by a short column) and one call to the queue's store,
so that every process, and every scrape, tells the same figures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.storage.orm import Alarm, SlaMark, Surge

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from caredesk.tasks.app import TaskQueue

__all__ = ["ScrapeDeps", "SystemCollector"]

_log = logging.getLogger(__name__)


class ScrapeDeps(Protocol):
    @property
    def session_factory(self) -> sessionmaker[Session]: ...
    @property
    def queue(self) -> TaskQueue: ...


class SystemCollector:
    """A prometheus-client custom collector over the database and the queue. A source that does not answer
    drops its families from this scrape and sets `caredesk_scrape_error{source}` (the scrape still answers)."""

    def __init__(self, deps: ScrapeDeps) -> None:
        self._deps = deps

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        errors = GaugeMetricFamily("caredesk_scrape_error", "1 when a source did not answer this scrape",
                                   labels=["source"])
        try:
            pending, scheduled = self._deps.queue.depth()
        except Exception as exc:  # the queue's store is down: say so, keep the rest
            _log.warning("metrics: task queue unavailable (%s)", type(exc).__name__)
            errors.add_metric(["queue"], 1)
        else:
            depth = GaugeMetricFamily("caredesk_task_queue_depth", "Tasks waiting in the queue", labels=["state"])
            depth.add_metric(["pending"], pending)
            depth.add_metric(["scheduled"], scheduled)
            yield depth
            errors.add_metric(["queue"], 0)
        try:
            with self._deps.session_factory() as session:
                alarms = {status: count for status, count in session.execute(
                    select(Alarm.status, func.count()).where(Alarm.status != "resolved").group_by(Alarm.status))}
                surges = {status: count for status, count in session.execute(
                    select(Surge.status, func.count()).where(Surge.status != "resolved").group_by(Surge.status))}
                breaches = session.execute(select(SlaMark.target, func.count()).where(SlaMark.kind == "breach")
                                           .group_by(SlaMark.target)).all()
        except Exception as exc:
            _log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            errors.add_metric(["database"], 1)
        else:
            open_alarms = GaugeMetricFamily("caredesk_alarms_open", "Alarms not resolved, by status",
                                            labels=["status"])
            for status in ("open", "acknowledged"):  # both, at zero too: an alert rule needs the series
                open_alarms.add_metric([status], alarms.get(status, 0))
            yield open_alarms
            active = GaugeMetricFamily("caredesk_surges_active", "Surges not resolved, by status", labels=["status"])
            for status in ("open", "acknowledged"):
                active.add_metric([status], surges.get(status, 0))
            yield active
            # each breach is recorded once per order and target, so the count only grows: a counter
            sla = CounterMetricFamily("caredesk_sla_breaches", "SLA targets breached (recorded marks), by target",
                                      labels=["target"])
            for target, count in breaches:
                sla.add_metric([target], count)
            yield sla
            errors.add_metric(["database"], 0)
        yield errors
