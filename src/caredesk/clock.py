"""Time is passed in, never read inside rules: production uses SystemClock, tests a FrozenClock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

__all__ = ["Clock", "FrozenClock", "Remembered", "SystemClock", "utcnow"]

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class FrozenClock:
    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


class Remembered(Generic[T]):
    """The last value read and when, by the caller's clock: a process trusts it for `ttl` instead of reading
    on every request (a clock set back reads again)."""

    def __init__(self) -> None:
        self._last: tuple[T, datetime] | None = None

    def get(self, now: datetime, ttl: timedelta, read: Callable[[], T]) -> T:
        last = self._last
        if last is not None and timedelta(0) <= now - last[1] < ttl:
            return last[0]
        value = read()
        self._last = (value, now)
        return value
