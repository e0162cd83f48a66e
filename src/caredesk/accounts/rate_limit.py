"""Request rate limits per API key and per signed-in user, and the read-volume watch that freezes an
account reading customer records in bulk. Fixed windows counted in memory (one process, the embedded
default) or in Redis (every API process shares the counts)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Counter", "MemoryCounter", "RedisCounter", "Window", "make_counter", "over_limit"]


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
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def hit(self, key: str, window: Window, now: float) -> int:
        name = f"caredesk:rate:{key}:{window.seconds}:{int(now // window.seconds)}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window.seconds * 2)
        return int(pipe.execute()[0])


def make_counter(redis_url: str | None) -> Counter:
    return RedisCounter(redis_url) if redis_url else MemoryCounter()
