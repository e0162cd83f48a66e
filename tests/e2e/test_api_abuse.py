"""Rate limits per API key, and an account reading customer records in bulk frozen with the
administrators alerted (in memory here; the Redis counter is shared by every API process)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.accounts.rate_limit import RedisCounter, Window, over_limit
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import ApiKey, AuditEntry, Notification, Staff
from tests.conftest import create_key


def _client(rt: Runtime, role: str) -> TestClient:
    client = TestClient(create_app(rt, start_consumer=False))
    client.headers["Authorization"] = f"Bearer {create_key(rt, role)}"
    return client


def test_requests_over_the_rate_get_429_with_retry_after(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    rt.settings.rate_limit_per_minute = 5
    client, other = _client(rt, "agent"), _client(rt, "agent")
    statuses = [client.get("/api/v1/work-orders").status_code for _ in range(7)]
    if statuses.count(429) == 0:  # the minute turned over between calls: the next minute counts afresh
        statuses = [client.get("/api/v1/work-orders").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429
    limited = client.get("/api/v1/work-orders")
    assert limited.json()["code"] == "rate_limited" and 0 < int(limited.headers["Retry-After"]) <= 60
    assert other.get("/api/v1/work-orders").status_code == 200  # per key, not global


def test_bulk_record_reads_freeze_the_account_and_alert_admins(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    rt.settings.record_reads_freeze_per_hour = 3
    scraper = _client(rt, "agent")
    posted = scraper.post("/api/v1/messages", json={"text": "How do I activate my card?", "channel": "api",
                                                    "customer_ref": "abuse-1"}).json()
    url = f"/api/v1/conversations/{posted['conversation_id']}"
    assert [scraper.get(url).status_code for _ in range(3)] == [200, 200, 200]
    frozen = scraper.get(url)
    assert frozen.status_code == 403 and "frozen" in frozen.json()["message"]
    assert scraper.get("/api/v1/work-orders").status_code == 401  # the key is revoked
    with rt.session_factory() as s:
        assert s.scalar(select(ApiKey).where(ApiKey.revoked_at.is_not(None))) is not None
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "account.frozen")) is not None
        admins = set(s.scalars(select(Staff.id).where(Staff.role == "admin")))
        alerted = set(s.scalars(select(Notification.staff_id).where(Notification.kind == "account_frozen")))
    assert admins and alerted == admins


@pytest.mark.redis
def test_redis_counter_is_shared_between_processes(redis_url: str) -> None:
    a, b = RedisCounter(redis_url), RedisCounter(redis_url)
    window, key, now = Window(3, 60), f"test-{time.time_ns()}", time.time()
    counts = [a.hit(key, window, now), b.hit(key, window, now), a.hit(key, window, now), b.hit(key, window, now)]
    assert counts == [1, 2, 3, 4] and not over_limit(3, window) and over_limit(4, window)


