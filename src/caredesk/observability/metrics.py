"""The process's Prometheus metrics, created on first use (never at import) and shared by every app in the
process. With `caredesk serve --workers N` each process writes its values to files in one directory
(prometheus-client's multiprocess mode) and `/metrics` sums them; `enable_multiprocess` must run before the
first metric is created, which `caredesk serve` does before it builds anything."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["MULTIPROC_ENV", "Metrics", "enable_multiprocess", "metrics", "multiprocess_dir"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Latency buckets (seconds): an API answer takes milliseconds, a triage tens of milliseconds, a cold model seconds.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The counters and histograms this process updates. Gauges that describe the system rather than the
    process (queue depth, open alarms, SLA breaches) are read at scrape time instead: gauges.py."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

        disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series double the output and no dashboard reads them
        # Single-process mode: our own registry, not the library's global one (nothing else registers there).
        # Multiprocess mode: values go to the directory's files, and a scrape reads them from there.
        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests: Counter = Counter("caredesk_http_requests", "HTTP requests answered, by route template",
                                         ["method", "route", "status"], registry=reg)
        self.request_seconds: Histogram = Histogram(
            "caredesk_http_request_duration_seconds", "HTTP request latency, by route template",
            ["method", "route"], buckets=_BUCKETS, registry=reg)
        self.decisions: Counter = Counter("caredesk_intake_decisions", "Customer messages taken in, by decision",
                                          ["kind"], registry=reg)
        self.triage_seconds: Histogram = Histogram("caredesk_triage_duration_seconds",
                                                   "Triage of one customer message", buckets=_BUCKETS,
                                                   registry=reg)
        self.task_failures: Counter = Counter("caredesk_task_failures", "Background task runs that raised",
                                              ["task"], registry=reg)


_metrics: Metrics | None = None
_lock = threading.Lock()


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics()
    return _metrics


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def enable_multiprocess(directory: Path) -> None:
    """Empty `directory` (files of an earlier run would be summed in) and make this process and the ones it
    forks write their values there. Refused once a metric exists: its values would stay in this process."""
    if _metrics is not None:
        raise RuntimeError("metrics already created in single-process mode")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    from prometheus_client import values

    # prometheus-client chooses the value class when it is first imported; set it in case that was earlier.
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
