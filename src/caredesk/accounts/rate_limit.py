"""Request rate limits per API key and per signed-in user, and the read-volume watch that freezes an
account reading customer records in bulk. Fixed windows counted in memory (one process, the embedded
default) or in Redis (every API process shares the counts). When Redis is unreachable the counts are kept
in the process until it answers again: limits hold per process, and intake does not fail with the broker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Counter", "FallbackCounter", "MemoryCounter", "RedisCounter", "Window", "make_counter", "over_limit"]

_log = logging.getLogger("caredesk.accounts.rate_limit")


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: int


def over_limit(count: int, window: Window) -> bool:
    """Pure: whether the `count`-th event of a window is over the limit."""
    return window.limit > 0 and count > window.limit


class Counter(Protocol):
    def hit(self, key: str, window: Window, now: float) -> int: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: Window, now: float) -> int:
        slot = int(now // window.seconds)
        with self._lock:
            if len(self._counts) > 50_000:  # drop finished windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= slot}
            n = self._counts.get((key, slot), 0) + 1
            self._counts[(key, slot)] = n
        return n


class RedisCounter:
    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        import redis

        # A short timeout: a request waits at most this long for a broker that has gone away.
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)

    def hit(self, key: str, window: Window, now: float) -> int:
        name = f"caredesk:rate:{key}:{window.seconds}:{int(now // window.seconds)}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window.seconds * 2)
        return int(pipe.execute()[0])


class FallbackCounter:
    """Redis while it answers; after a failure, the process's own counts for `retry_seconds`, then Redis
    again (one failed try per period, not one per request)."""

    def __init__(self, primary: Counter, *, retry_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout

        self._primary = primary
        self._local = MemoryCounter()
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._down_until = 0.0
        self._outage: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeout, OSError)

    @property
    def degraded(self) -> bool:
        return self._monotonic() < self._down_until

    def hit(self, key: str, window: Window, now: float) -> int:
        if not self.degraded:
            try:
                return self._primary.hit(key, window, now)
            except self._outage as exc:
                if self._down_until == 0.0:
                    _log.warning("rate counts kept in this process: Redis is unreachable (%s)", type(exc).__name__)
                self._down_until = self._monotonic() + self._retry_seconds
        return self._local.hit(key, window, now)


def make_counter(redis_url: str | None) -> Counter:
    return FallbackCounter(RedisCounter(redis_url)) if redis_url else MemoryCounter()
