"""Outages degrade instead of failing (issue 14's faults): with Redis unreachable the rate counts stay in the
process and intake goes on; connections the database server cut are replaced before use; a database that
does not answer gives 503 `service_unavailable` with Retry-After, never a 500. Real Redis, real PostgreSQL,
real SQLite; the outages are real too (a port nothing listens on, backends terminated, a read-only file)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from caredesk.accounts.rate_limit import FallbackCounter, RedisCounter, Window
from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.outages import is_storage_outage
from tests.conftest import Mailbox, create_key, free_port, make_settings

MESSAGE = {"text": "我的信用卡账单有一笔不认识的消费", "channel": "web", "customer_ref": "outage-cust"}


class Ticking:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_counts_stay_in_the_process_while_redis_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    clock = Ticking()
    counter = FallbackCounter(RedisCounter(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2), retry_seconds=5,
                              monotonic=clock)
    window = Window(limit=2, seconds=60)
    with caplog.at_level(logging.WARNING, logger="caredesk.accounts.rate_limit"):
        assert [counter.hit("req:key-1", window, 1_000.0) for _ in range(3)] == [1, 2, 3]  # the limit still holds
    assert counter.degraded and caplog.text.count("Redis is unreachable") == 1  # said once, not per request
    clock.now += 6  # after the retry period Redis is tried again (still down: counted here, no new warning)
    assert counter.hit("req:key-1", window, 1_000.0) == 4 and caplog.text.count("Redis is unreachable") == 1


def test_rate_counts_go_to_redis_while_it_answers(redis_url: str) -> None:
    counter = FallbackCounter(RedisCounter(redis_url))
    window = Window(limit=10, seconds=60)
    key = f"req:outage-{free_port()}"
    assert [counter.hit(key, window, 6_000.0) for _ in range(2)] == [1, 2]
    assert not counter.degraded
    assert redis.Redis.from_url(redis_url).get(f"caredesk:rate:{key}:60:100") == b"2"  # shared with every process


@pytest.fixture
def api_client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, start_consumer=False), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {create_key(runtime)}"
        yield client


def test_intake_goes_on_with_redis_down_and_the_limit_still_holds(runtime: Runtime,
                                                                  api_client: TestClient) -> None:
    runtime.rate_counter = FallbackCounter(RedisCounter(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2))
    runtime.settings.rate_limit_per_minute = 2
    answers = [api_client.post("/api/v1/messages", json=MESSAGE | {"customer_ref": f"c{i}"}) for i in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert answers[2].json()["code"] == "rate_limited" and "Retry-After" in answers[2].headers


def _pooled_backends(rt: Runtime, count: int = 3) -> set[int]:
    """The server process ids of the runtime's pooled connections (checked out together, then returned)."""
    connections = [rt.engine.connect() for _ in range(count)]
    try:
        return {int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in connections}
    finally:
        for c in connections:
            c.close()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_connections_the_server_cut_are_replaced_before_use(runtime: Runtime, api_client: TestClient,
                                                            postgres_url: str) -> None:
    assert api_client.post("/api/v1/messages", json=MESSAGE).status_code == 201
    pids = _pooled_backends(runtime)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # only this runtime's connections: other tests share the server
            cut = conn.execute(text("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM "
                                    "unnest(CAST(:pids AS int[])) AS pid"), {"pids": sorted(pids)}).scalar()
    finally:
        admin.dispose()
    assert cut == len(pids) >= 1
    again = [api_client.post("/api/v1/messages", json=MESSAGE | {"customer_ref": f"after-{i}"}) for i in range(3)]
    assert [r.status_code for r in again] == [201, 201, 201]
    assert api_client.get("/api/v1/work-orders").status_code == 200
    assert not pids & _pooled_backends(runtime)  # every cut connection was replaced


def test_a_database_that_does_not_answer_gives_503_with_retry_after(tmp_path: Path, mailbox: Mailbox,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    rt = build_runtime(make_settings(f"postgresql+psycopg://127.0.0.1:{free_port()}/caredesk?connect_timeout=1",
                                     tmp_path / "var", mailbox), make_current=False)
    try:
        with TestClient(create_app(rt, start_consumer=False), raise_server_exceptions=False) as client, \
                caplog.at_level(logging.WARNING, logger="caredesk.http.errors"):
            r = client.post("/api/v1/messages", json=MESSAGE, headers={"Authorization": "Bearer cd_whatever"})
            assert r.status_code == 503 and r.json()["code"] == "service_unavailable"
            assert r.headers["Retry-After"] == "5"
            assert "storage unavailable" in caplog.text and "Traceback" not in caplog.text
    finally:
        rt.engine.dispose()


def test_only_outages_count_as_outages(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with engine.begin() as conn, pytest.raises(OperationalError) as locked:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        holder.execute("ROLLBACK")
        with engine.connect() as conn, pytest.raises(OperationalError) as no_table:
            conn.execute(text("SELECT * FROM missing"))
    finally:
        engine.dispose()
        holder.close()
    assert "locked" in str(locked.value) and is_storage_outage(locked.value)  # an outage: retry later
    assert not is_storage_outage(no_table.value)  # a defect: a 500, logged
    assert not is_storage_outage(ValueError("x"))


def test_readiness_says_which_dependency_does_not_answer(runtime: Runtime, redis_url: str, tmp_path: Path,
                                                         mailbox: Mailbox) -> None:
    def probe(url: str) -> tuple[int, dict[str, str]]:
        rt = build_runtime(make_settings(runtime.settings.database_url, tmp_path / "var", mailbox, redis_url=url,
                                         tasks_mode="external"), make_current=False)
        rt.set_pipeline(runtime.triage)
        try:
            with TestClient(create_app(rt, start_consumer=False)) as client:  # no credentials: a probe
                assert client.get("/health/live").json() == {"status": "ok"}
                r = client.get("/health/ready")
                if r.status_code == 503:
                    assert r.headers["Retry-After"] == "5" and r.json()["code"] == "service_unavailable"
                    return r.status_code, r.json()["details"]["checks"]
                assert r.json()["status"] == "ready"
                return r.status_code, r.json()["checks"]
        finally:
            rt.engine.dispose()

    assert probe(redis_url) == (200, {"database": "ok", "redis": "ok", "models": "ok"})
    assert probe(f"redis://127.0.0.1:{free_port()}/0") == (503, {"database": "ok", "redis": "unavailable",
                                                                  "models": "ok"})


def test_readiness_fails_while_the_database_does_not_answer(tmp_path: Path, mailbox: Mailbox) -> None:
    rt = build_runtime(make_settings(f"postgresql+psycopg://127.0.0.1:{free_port()}/caredesk?connect_timeout=1",
                                     tmp_path / "var", mailbox), make_current=False)
    try:
        with TestClient(create_app(rt, start_consumer=False)) as client:
            assert client.get("/health/live").status_code == 200  # the process answers
            r = client.get("/health/ready")
            assert r.status_code == 503
            assert r.json()["details"]["checks"] == {"database": "unavailable", "queue": "ok", "models": "loading"}
    finally:
        rt.engine.dispose()
