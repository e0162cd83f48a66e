"""The circuit breaker in front of each connector: a system that keeps failing is not called for a while, so a
customer waits no timeout for an answer that will not come and the system is not hammered while it recovers.

closed -> open after `failures` failures within `window_seconds`; open -> half-open once `cooldown_seconds` have
passed, when ONE probe call is let through; its success closes the breaker, its failure opens it again. The
clock is passed in (`now`, seconds). The state lives in this process, or in Redis when configured so that every
process sees the same one; when Redis fails, this process's own state stands in (a breaker never blocks calls
because its store is down)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Protocol

import redis

from caredesk.integrations.connectors.config import BreakerSpec

__all__ = ["BreakerState", "Breakers", "MemoryBreakers", "RedisBreakers", "make_breakers", "state_of"]

log = logging.getLogger(__name__)
BreakerState = Literal["closed", "open", "half_open"]


def state_of(opened_at: float | None, spec: BreakerSpec, now: float) -> BreakerState:
    """The pure rule: never opened (or closed since) -> closed; within the cool-down -> open; after -> half-open."""
    if opened_at is None:
        return "closed"
    return "open" if now < opened_at + spec.cooldown_seconds else "half_open"


class Breakers(Protocol):
    def allow(self, name: str, spec: BreakerSpec, now: float) -> bool:
        """Whether a call may go out now (in half-open: only the one probe)."""

    def success(self, name: str, spec: BreakerSpec, now: float) -> None: ...

    def failure(self, name: str, spec: BreakerSpec, now: float) -> None: ...

    def state(self, name: str, spec: BreakerSpec, now: float) -> BreakerState: ...


@dataclass
class _Local:
    failures: deque[float] = field(default_factory=deque)
    opened_at: float | None = None
    probe_at: float | None = None  # when the half-open probe went out


class MemoryBreakers:
    """This process's breakers."""

    def __init__(self) -> None:
        self._states: dict[str, _Local] = {}
        self._lock = threading.Lock()

    def _get(self, name: str) -> _Local:
        return self._states.setdefault(name, _Local())

    def state(self, name: str, spec: BreakerSpec, now: float) -> BreakerState:
        with self._lock:
            return state_of(self._get(name).opened_at, spec, now)

    def allow(self, name: str, spec: BreakerSpec, now: float) -> bool:
        with self._lock:
            st = self._get(name)
            current = state_of(st.opened_at, spec, now)
            if current == "closed":
                return True
            if current == "open":
                return False
            # half-open: one probe; a probe that never reported back (its process died) is replaced after a
            # further cool-down
            if st.probe_at is None or now >= st.probe_at + spec.cooldown_seconds:
                st.probe_at = now
                return True
            return False

    def success(self, name: str, spec: BreakerSpec, now: float) -> None:
        with self._lock:
            st = self._get(name)
            if st.opened_at is not None:  # the probe answered: closed, the count starts again
                st.opened_at = st.probe_at = None
                st.failures.clear()

    def failure(self, name: str, spec: BreakerSpec, now: float) -> None:
        with self._lock:
            st = self._get(name)
            if st.opened_at is not None:  # the probe (or a call from before the opening) failed: open again
                st.opened_at, st.probe_at = now, None
                return
            st.failures.append(now)
            while st.failures and st.failures[0] <= now - spec.window_seconds:
                st.failures.popleft()
            if len(st.failures) >= spec.failures:
                st.opened_at = now
                st.failures.clear()
                log.warning("connector %s: circuit opened after %d failures in %g s", name, spec.failures,
                            spec.window_seconds)


class RedisBreakers:
    """Breakers shared by every process through Redis: `opened` (when it opened), `probe` (when the half-open
    probe went out) and `fails` (a sorted set of failure times) under `caredesk:breaker:<name>:`."""

    def __init__(self, client: redis.Redis, *, fallback: MemoryBreakers | None = None) -> None:
        self._redis = client
        self._fallback = fallback or MemoryBreakers()

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.3) -> RedisBreakers:
        # a short timeout: the breaker is asked on a customer's request
        return cls(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout))

    @staticmethod
    def _key(name: str, part: str) -> str:
        return f"caredesk:breaker:{name}:{part}"

    def _ttl(self, spec: BreakerSpec) -> int:
        return int(4 * (spec.window_seconds + spec.cooldown_seconds)) + 60

    def _opened(self, name: str) -> float | None:
        raw = self._redis.get(self._key(name, "opened"))
        return float(raw) if raw is not None else None

    def state(self, name: str, spec: BreakerSpec, now: float) -> BreakerState:
        try:
            return state_of(self._opened(name), spec, now)
        except redis.RedisError as exc:  # the local state stands in
            self._down(exc)
            return self._fallback.state(name, spec, now)

    def allow(self, name: str, spec: BreakerSpec, now: float) -> bool:
        try:
            current = state_of(self._opened(name), spec, now)
            if current != "half_open":
                return current == "closed"
            probe = self._key(name, "probe")
            if self._redis.set(probe, repr(now), nx=True, ex=self._ttl(spec)):
                return True
            raw = self._redis.get(probe)
            if raw is None or now >= float(raw) + spec.cooldown_seconds:
                self._redis.set(probe, repr(now), ex=self._ttl(spec))
                return True
            return False
        except redis.RedisError as exc:
            self._down(exc)
            return self._fallback.allow(name, spec, now)

    def success(self, name: str, spec: BreakerSpec, now: float) -> None:
        try:
            if self._opened(name) is not None:
                self._redis.delete(self._key(name, "opened"), self._key(name, "probe"), self._key(name, "fails"))
        except redis.RedisError as exc:
            self._down(exc)
            self._fallback.success(name, spec, now)

    def failure(self, name: str, spec: BreakerSpec, now: float) -> None:
        try:
            ttl = self._ttl(spec)
            if self._opened(name) is not None:
                self._redis.set(self._key(name, "opened"), repr(now), ex=ttl)
                self._redis.delete(self._key(name, "probe"))
                return
            fails = self._key(name, "fails")
            pipe = self._redis.pipeline()
            pipe.zadd(fails, {f"{now!r}:{uuid.uuid4().hex[:8]}": now})
            pipe.zremrangebyscore(fails, "-inf", now - spec.window_seconds)
            pipe.zcard(fails)
            pipe.expire(fails, ttl)
            count = int(pipe.execute()[2])
            if count >= spec.failures:
                self._redis.set(self._key(name, "opened"), repr(now), ex=ttl)
                self._redis.delete(fails)
                log.warning("connector %s: circuit opened after %d failures in %g s", name, spec.failures,
                            spec.window_seconds)
        except redis.RedisError as exc:
            self._down(exc)
            self._fallback.failure(name, spec, now)

    @staticmethod
    def _down(exc: Exception) -> None:
        log.warning("circuit breaker store unavailable (%s): this process's own state is used", type(exc).__name__)


def make_breakers(redis_url: str | None) -> Breakers:
    return RedisBreakers.from_url(redis_url) if redis_url else MemoryBreakers()
