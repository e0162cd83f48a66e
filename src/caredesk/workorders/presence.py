"""Who has a work order open right now, for the collision notice ("Li Na is also viewing this order").
Kept in Redis when configured (several API processes see each other), else in this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Presence"]

TTL_SECONDS = 60  # a browser re-announces every 20 s while the page is open


class Presence:
    def __init__(self, redis_url: str | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self._local: dict[str, dict[str, tuple[str, float]]] = {}
        self._lock = threading.Lock()

    def touch(self, order_id: str, staff_id: str, name: str) -> list[str]:
        """Record that this person views the order; return the names of the others viewing it."""
        now = self._clock()
        if self._redis is not None:
            key = f"caredesk:viewing:{order_id}"
            pipe = self._redis.pipeline()
            pipe.hset(key, staff_id, f"{now}|{name}")
            pipe.expire(key, TTL_SECONDS)
            pipe.hgetall(key)
            entries = {k: (v.partition("|")[2], float(v.partition("|")[0])) for k, v in pipe.execute()[-1].items()}
        else:
            with self._lock:
                viewers = self._local.setdefault(order_id, {})
                viewers[staff_id] = (name, now)
                entries = dict(viewers)
        return sorted(n for sid, (n, seen) in entries.items() if sid != staff_id and now - seen < TTL_SECONDS)
