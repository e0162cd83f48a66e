"""The Huey task queue: SQLite storage under ./var in the embedded default, Redis when configured.

Task functions are plain functions in each area's `tasks.py`; they take ids, are idempotent, and are
registered under a stored name when the composition root builds the queue (nothing happens at import). Callers
enqueue them by reference; the outbox's subscribers (wired in bootstrap) are the usual callers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper
from huey.consumer import Consumer

from caredesk.settings import Settings

__all__ = ["EmbeddedConsumer", "TaskQueue", "build_huey", "start_embedded_consumer"]

log = logging.getLogger(__name__)


def build_huey(settings: Settings, name: str = "caredesk") -> Huey:
    if settings.tasks_mode == "immediate":
        return Huey(name, immediate=True)
    if settings.redis_url:
        return RedisHuey(name, url=settings.redis_url, utc=True)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.var_dir / "tasks.db"), utc=True)


class TaskQueue:
    """Task functions on one Huey instance, enqueued by reference: `enqueue(send_survey, survey_id)`. The
    stored name given at registration is what a queued task is kept under (it outlives a rename of the
    function); nothing else spells it."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._tasks: dict[str, TaskWrapper] = {}
        self._by_function: dict[Callable[..., Any], TaskWrapper] = {}

    def register(self, name: str, fn: Callable[..., Any], *, retries: int = 3, retry_delay: int = 10) -> None:
        wrapper = self.huey.task(name=name, retries=retries, retry_delay=retry_delay)(fn)
        self._tasks[name] = self._by_function[fn] = wrapper

    def register_periodic(self, name: str, fn: Callable[[], Any], validate_datetime: Callable[..., bool]) -> None:
        self._tasks[name] = self._by_function[fn] = self.huey.periodic_task(validate_datetime, name=name)(fn)

    def _task(self, fn: Callable[..., Any]) -> TaskWrapper:
        try:
            return self._by_function[fn]
        except KeyError:
            raise LookupError(f"{getattr(fn, '__qualname__', fn)} is not registered on this queue") from None

    def enqueue(self, fn: Callable[..., Any], *args: Any) -> None:
        self._task(fn)(*args)

    def schedule(self, fn: Callable[..., Any], *args: Any, delay: float) -> None:
        """Run the task after `delay` seconds (wall time); the task re-checks whether it is due."""
        self._task(fn).schedule(args=args, delay=delay)

    def name_of(self, fn: Callable[..., Any]) -> str:
        """The stored name (what Huey's pending and scheduled lists show)."""
        return str(self._task(fn).name)

    def first_this_minute(self, name: str, now: datetime) -> bool:
        """True for the first caller of `name` in this minute across every process sharing the queue: each
        worker's scheduler fires the periodic tasks, and a sweep needs doing once. The keys of 2 to 10
        minutes ago are dropped, so the store holds a few keys, not one a minute forever."""
        minute = now.replace(second=0, microsecond=0)
        for back in range(2, 11):
            self.huey.storage.pop_data(f"once:{name}:{(minute - timedelta(minutes=back)).isoformat()}")
        claim = self.huey.serializer.serialize(True)  # well-formed beside the task results in the same store
        return bool(self.huey.storage.put_if_empty(f"once:{name}:{minute.isoformat()}", claim))

    def depth(self) -> tuple[int, int]:
        """(pending, scheduled) tasks in the queue's store: one round trip each on the queue's own connection
        (readiness and `/metrics` ask this; it raises when the store does not answer)."""
        return int(self.huey.pending_count()), int(self.huey.scheduled_count())

    def on_failure(self, listener: Callable[[str], None]) -> None:
        """Call `listener(stored task name)` whenever a task run raises (in the process that runs it)."""
        from huey.signals import SIGNAL_ERROR

        def failed(_signal: str, task: Any, *_exc: Any) -> None:
            listener(str(task.name))

        self.huey.signal(SIGNAL_ERROR)(failed)

    @property
    def names(self) -> list[str]:
        return sorted(self._tasks)


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer running as threads inside the server process. It must not install signal handlers:
    those belong to uvicorn (and signal.signal fails outside the main thread)."""

    def _set_signal_handlers(self) -> None:
        return None


def start_embedded_consumer(huey: Huey, workers: int = 2) -> EmbeddedConsumer:
    consumer = EmbeddedConsumer(huey, workers=workers, worker_type="thread", periodic=True, check_worker_health=False)
    consumer.start()
    log.info("in-process task consumer started with %d threads", workers)
    return consumer
