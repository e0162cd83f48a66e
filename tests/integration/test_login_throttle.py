"""Sign-in throttling as an action on SQLite and PostgreSQL, with failures remembered in memory (embedded)
or in Redis (shared by every API process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from caredesk.accounts.login import LoginAttempt, do_login
from caredesk.accounts.throttle import MemoryAttemptStore, RedisAttemptStore, make_attempt_store
from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.compliance.audit import verify_chain
from caredesk.errors import LoginThrottled, Unauthenticated
from caredesk.storage.orm import AuditEntry

WRONG = LoginAttempt("agent", "not-my-password", "192.0.2.10")
RIGHT = LoginAttempt("agent", "caredesk-demo", "192.0.2.10")


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisAttemptStore]:
    import redis

    client = redis.Redis.from_url(redis_url)
    store = RedisAttemptStore(client)
    yield store
    for key in client.scan_iter(RedisAttemptStore.PREFIX + "*"):
        client.delete(key)


def lock_out(rt: Runtime) -> None:
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            do_login(rt, WRONG)


def test_do_login_locks_the_account_and_audits_every_attempt(demo_runtime: Runtime) -> None:
    clock = FrozenClock(demo_runtime.clock.now())
    demo_runtime.clock = clock
    assert isinstance(demo_runtime.login_attempts, MemoryAttemptStore)  # no Redis configured
    lock_out(demo_runtime)
    with pytest.raises(LoginThrottled) as locked:
        do_login(demo_runtime, RIGHT)
    assert (locked.value.code, locked.value.status, locked.value.retry_after) == ("login_throttled", 429, 900)
    clock.advance(timedelta(minutes=15))
    staff_id = do_login(demo_runtime, RIGHT)
    with demo_runtime.session_factory() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action.like("auth.%")).order_by(AuditEntry.id)))
        assert [r.action for r in rows] == ["auth.login_failed"] * 5 + ["auth.login_throttled",
                                                                        "auth.login_succeeded"]
        assert rows[-1].actor == f"staff:{staff_id}" and rows[-1].object_id == staff_id
        assert rows[0].actor == "anonymous" and rows[0].data == {"username": "agent", "address": "192.0.2.10"}
        assert verify_chain(s).intact


@pytest.mark.redis
def test_make_attempt_store_follows_the_redis_setting(redis_url: str) -> None:
    assert isinstance(make_attempt_store(None), MemoryAttemptStore)
    assert isinstance(make_attempt_store(redis_url), RedisAttemptStore)


@pytest.mark.redis
def test_redis_store_shares_the_count_between_processes(demo_runtime: Runtime, redis_store: RedisAttemptStore,
                                                        redis_url: str) -> None:
    """Two API processes (two runtimes on the same database and Redis): failures on one lock the other."""
    demo_runtime.login_attempts = redis_store
    other = build_runtime(demo_runtime.settings.model_copy(update={"redis_url": redis_url}), make_current=False)
    try:
        assert isinstance(other.login_attempts, RedisAttemptStore)
        for rt in (demo_runtime, other, demo_runtime, other, demo_runtime):
            with pytest.raises(Unauthenticated):
                do_login(rt, WRONG)
        with pytest.raises(LoginThrottled):
            do_login(other, RIGHT)
        with pytest.raises(LoginThrottled):
            do_login(demo_runtime, RIGHT)
    finally:
        other.engine.dispose()


@pytest.mark.redis
def test_redis_store_keeps_hashed_keys_that_expire(redis_store: RedisAttemptStore, redis_url: str) -> None:
    import redis

    from caredesk.clock import utcnow

    now = utcnow()
    redis_store.add_failure("account:agent", now - timedelta(minutes=40), timedelta(minutes=30))
    redis_store.add_failure("account:agent", now, timedelta(minutes=30))
    redis_store.add_failure("account:agent", now, timedelta(minutes=30))  # same instant: both counted
    assert len(redis_store.failures("account:agent", now - timedelta(minutes=30))) == 2
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter(RedisAttemptStore.PREFIX + "*")]
    assert len(keys) == 1 and "agent" not in keys[0]  # no usernames or addresses in Redis
    assert 0 < client.ttl(keys[0]) <= 30 * 60
    redis_store.clear("account:agent")
    assert redis_store.failures("account:agent", now - timedelta(days=1)) == []
