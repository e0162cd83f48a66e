"""The sign-in counting rule (pure, clock passed in) and the in-memory failure store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caredesk.accounts.throttle import MemoryAttemptStore, ThrottlePolicy, locked_until

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(max_failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


def minutes(*values: float) -> list[datetime]:
    return [T0 + timedelta(minutes=v) for v in values]


def test_locked_until_free_below_the_limit() -> None:
    assert locked_until([], T0, POLICY) is None
    assert locked_until(minutes(0, 1, 2, 3), T0 + timedelta(minutes=4), POLICY) is None


def test_locked_until_locks_at_the_limit_from_the_latest_failure() -> None:
    failures = minutes(0, 1, 2, 3, 4)
    assert locked_until(failures, T0 + timedelta(minutes=4), POLICY) == T0 + timedelta(minutes=19)
    assert locked_until(list(reversed(failures)), T0 + timedelta(minutes=10), POLICY) == T0 + timedelta(minutes=19)


def test_locked_until_ends_when_the_lockout_is_over() -> None:
    failures = minutes(0, 1, 2, 3, 4)
    assert locked_until(failures, T0 + timedelta(minutes=18, seconds=59), POLICY) is not None
    assert locked_until(failures, T0 + timedelta(minutes=19), POLICY) is None


def test_locked_until_counts_only_the_window() -> None:
    # five failures, but spread over more than the window: never five within 15 minutes
    assert locked_until(minutes(0, 5, 10, 16, 20), T0 + timedelta(minutes=20), POLICY) is None
    # failures "in the future" of the clock (another process's clock ahead) do not count either
    assert locked_until(minutes(0, 1, 2, 3, 30), T0 + timedelta(minutes=4), POLICY) is None


def test_locked_until_follows_the_policy() -> None:
    strict = ThrottlePolicy(max_failures=2, window=timedelta(minutes=1), lockout=timedelta(hours=1))
    assert locked_until(minutes(0, 0.5), T0 + timedelta(minutes=0.5), strict) == T0 + timedelta(minutes=60.5)


def test_memory_store_keeps_recent_failures_per_key_and_clears() -> None:
    store = MemoryAttemptStore()
    for at in minutes(0, 1, 20):
        store.add_failure("account:agent", at, timedelta(minutes=15))
    store.add_failure("address:10.0.0.1", T0, timedelta(minutes=15))
    assert store.failures("account:agent", T0 - timedelta(minutes=1)) == minutes(20)  # older ones pruned
    assert store.failures("account:agent", T0 + timedelta(minutes=10)) == minutes(20)
    assert store.failures("address:10.0.0.1", T0 - timedelta(seconds=1)) == [T0]
    store.clear("account:agent")
    assert store.failures("account:agent", T0 - timedelta(days=1)) == []
    assert store.failures("address:10.0.0.1", T0 - timedelta(seconds=1)) == [T0]


def test_memory_store_stays_bounded_under_ever_new_names() -> None:
    store = MemoryAttemptStore(max_keys=100)
    keep = timedelta(minutes=15)
    for i in range(1000):  # a new name every 10 s: all but the last 90 names have left the 15-minute window
        store.add_failure(f"account:guess{i}", T0 + timedelta(seconds=10 * i), keep)
    assert len(store._failures) <= 101
    last = T0 + timedelta(seconds=9990)
    assert store.failures("account:guess999", T0) == [last]  # names still inside the window are kept
    assert store.failures("account:guess0", T0 - timedelta(days=1)) == []  # as Redis expires them after `keep`


def test_locked_until_a_new_series_is_needed_after_a_lock() -> None:
    failures = minutes(0, 1, 2, 3, 4, 20, 21, 22, 23)  # locked 4..19; then four more: not yet five in a window
    assert locked_until(failures, T0 + timedelta(minutes=23), POLICY) is None
    assert locked_until([*failures, *minutes(24)], T0 + timedelta(minutes=24), POLICY) == T0 + timedelta(minutes=39)
