"""Short-lived values that every worker process must agree on: the access tokens (WeChat allows a limited
number of token fetches a day, and a new token retires the old one) and the callback nonces already seen
(a replayed request is refused). In Redis when configured, else in this process; when Redis is out for a
moment the process copy carries on, with a warning."""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis

__all__ = ["MemoryState", "RedisState", "SharedState", "shared_state"]

log = logging.getLogger(__name__)
PREFIX = "caredesk:wechat:"


class SharedState(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str, ttl: float) -> None: ...
    def drop(self, key: str) -> None: ...
    def first(self, key: str, ttl: float) -> bool:
        """True the first time `key` is put within `ttl` seconds (atomically across workers)."""
        ...


class MemoryState:
    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> str | None:
        found = self._values.get(key)
        if found is None or found[1] <= now:
            self._values.pop(key, None)
            return None
        return found[0]

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key, time.monotonic())

    def put(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            now = time.monotonic()
            if len(self._values) > 50_000:  # nonces of a busy hour: drop the expired ones
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
            self._values[key] = (value, now + ttl)

    def drop(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def first(self, key: str, ttl: float) -> bool:
        with self._lock:
            if self._live(key, time.monotonic()) is not None:
                return False
        self.put(key, "1", ttl)
        return True


class RedisState:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, decode_responses=True)
        self._fallback = MemoryState()

    def get(self, key: str) -> str | None:
        try:
            value = self._redis.get(PREFIX + key)
            return value if isinstance(value, str) else None
        except redis.RedisError as exc:
            log.warning("wechat: Redis unavailable (%s); using this process's copy", type(exc).__name__)
            return self._fallback.get(key)

    def put(self, key: str, value: str, ttl: float) -> None:
        self._fallback.put(key, value, ttl)
        try:
            self._redis.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))
        except redis.RedisError as exc:
            log.warning("wechat: Redis unavailable (%s); kept in this process only", type(exc).__name__)

    def drop(self, key: str) -> None:
        self._fallback.drop(key)
        try:
            self._redis.delete(PREFIX + key)
        except redis.RedisError as exc:
            log.warning("wechat: Redis unavailable (%s)", type(exc).__name__)

    def first(self, key: str, ttl: float) -> bool:
        try:
            return bool(self._redis.set(PREFIX + key, "1", px=max(1, int(ttl * 1000)), nx=True))
        except redis.RedisError as exc:
            log.warning("wechat: Redis unavailable (%s); replay check in this process only", type(exc).__name__)
            return self._fallback.first(key, ttl)


def shared_state(redis_url: str | None) -> SharedState:
    return RedisState(redis_url) if redis_url else MemoryState()
