"""Sign-in throttling: the counting rule (pure, clock passed in) and where failures are remembered.

Failures are remembered per key (an account, a client address): in memory for the embedded single process,
in Redis when CAREDESK_REDIS_URL is set, so that every API process sees the same count. Keys are hashed:
neither usernames nor addresses are stored in Redis."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = ["AttemptStore", "MemoryAttemptStore", "RedisAttemptStore", "ThrottlePolicy", "locked_until",
           "make_attempt_store"]


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    @property
    def memory(self) -> timedelta:
        """How long a failure can still matter: a window to count it in, then the lock it may start."""
        return self.window + self.lockout


def locked_until(failures: Iterable[datetime], now: datetime, policy: ThrottlePolicy) -> datetime | None:
    """When `max_failures` failures fell within one window, the key is locked from the last of them for the
    lockout; None when it is free now. Attempts refused while locked are not failures, so a lock ends on time
    and the count then starts again. Only failures after `now - policy.memory` matter."""
    recent = sorted(f for f in failures if now - policy.memory < f <= now)
    n = policy.max_failures
    until = None
    for i in range(n - 1, len(recent)):
        if recent[i] - recent[i - n + 1] < policy.window:
            until = recent[i] + policy.lockout
    return until if until is not None and until > now else None


class AttemptStore(Protocol):
    def failures(self, key: str, since: datetime) -> list[datetime]: ...

    def add_failure(self, key: str, at: datetime, keep: timedelta) -> None: ...

    def clear(self, key: str) -> None: ...


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class MemoryAttemptStore:
    """One process's failures (the embedded default). Past `max_keys` names, the names whose failures have
    all left the window are dropped: sign-in attempts under ever new names must not grow it without bound."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def failures(self, key: str, since: datetime) -> list[datetime]:
        with self._lock:
            return [f for f in self._failures.get(_hashed(key), []) if f > since]

    def add_failure(self, key: str, at: datetime, keep: timedelta) -> None:
        with self._lock:
            kept = [f for f in self._failures.get(_hashed(key), []) if f > at - keep]
            self._failures[_hashed(key)] = [*kept, at]
            if len(self._failures) > self._max_keys:
                self._failures = {k: v for k, v in self._failures.items() if v[-1] > at - keep}

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(_hashed(key), None)


class RedisAttemptStore:
    """Failures in a Redis sorted set per key (score: the time), expiring with the window."""

    PREFIX = "caredesk:login-failures:"

    def __init__(self, client: Any) -> None:
        self._redis = client

    def failures(self, key: str, since: datetime) -> list[datetime]:
        scores = self._redis.zrangebyscore(self.PREFIX + _hashed(key), f"({since.timestamp()}", "+inf",
                                           withscores=True)
        return [datetime.fromtimestamp(score, UTC) for _, score in scores]

    def add_failure(self, key: str, at: datetime, keep: timedelta) -> None:
        name = self.PREFIX + _hashed(key)
        pipe = self._redis.pipeline()
        pipe.zadd(name, {f"{at.timestamp()}:{secrets.token_hex(4)}": at.timestamp()})
        pipe.zremrangebyscore(name, "-inf", (at - keep).timestamp())
        pipe.expire(name, max(int(keep.total_seconds()), 1))
        pipe.execute()

    def clear(self, key: str) -> None:
        self._redis.delete(self.PREFIX + _hashed(key))


def make_attempt_store(redis_url: str | None) -> AttemptStore:
    if not redis_url:
        return MemoryAttemptStore()
    import redis

    return RedisAttemptStore(redis.Redis.from_url(redis_url))
