"""What one try's outcome means for the delivery and its endpoint: delivered, retry later (when), give up, or
disable the endpoint. Pure: the settings' numbers and the clock are passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = ["Outcome", "RetryPolicy", "Verdict", "backoff", "judge", "should_disable"]


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give_up"
    GONE = "gone"  # 410: the receiver says the endpoint is gone for good


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    client_error_attempts: int = 3
    backoff_seconds: int = 30
    backoff_cap_seconds: int = 3600
    disable_after_failures: int = 20
    disable_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    next_attempt_at: datetime | None = None


def backoff(policy: RetryPolicy, attempts: int) -> timedelta:
    """After `attempts` failed tries: 30 s, 60 s, 120 s ... at most the cap (exponential, capped)."""
    exponent = min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(policy.backoff_seconds * 2 ** exponent, policy.backoff_cap_seconds))


def _retryable(status: int | None) -> bool:
    """None: no answer (timeout, refused connection, reset). 408 and 429 say "later"; 5xx is the receiver's
    fault. Other 4xx say the request itself is wrong: a few tries only (a receiver being deployed)."""
    return status is None or status >= 500 or status in (408, 429)


def judge(policy: RetryPolicy, status: int | None, attempts: int, *, now: datetime) -> Verdict:
    """`attempts`: tries made, this one included."""
    if status is not None and 200 <= status < 300:
        return Verdict(Outcome.DELIVERED)
    if status == 410:
        return Verdict(Outcome.GONE)
    limit = policy.max_attempts if _retryable(status) else min(policy.client_error_attempts, policy.max_attempts)
    if attempts >= limit:
        return Verdict(Outcome.GIVE_UP)
    return Verdict(Outcome.RETRY, now + backoff(policy, attempts))


def should_disable(policy: RetryPolicy, consecutive_failures: int, failing_since: datetime | None, *,
                   now: datetime) -> bool:
    """A dead endpoint: many failures in a row, none succeeding, over a long enough time that a receiver's
    restart or a night's maintenance does not count."""
    return (consecutive_failures >= policy.disable_after_failures and failing_since is not None
            and now - failing_since >= policy.disable_after)
