"""Operators' view (issue 15): /healthz and /readyz (sharing /health/live and /health/ready), /metrics in the
Prometheus format after real requests, its access rule, the multiprocess collector over files written by two
processes, and JSON logs with request ids and no customer data. Real SQLite/PostgreSQL and Redis."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.logfilter import install_log_masking
from caredesk.http.app import create_app
from caredesk.observability.logs import JsonFormatter
from caredesk.observability.metrics import MULTIPROC_ENV
from caredesk.storage.orm import Surge
from tests.conftest import Mailbox, create_key, free_port, make_settings
from tests.support.cli import cli_env

MESSAGE = {"text": "我的信用卡被盗刷了，请马上冻结", "channel": "web", "customer_ref": "ops-cust-1"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, start_consumer=False), raise_server_exceptions=False) as c:
        yield c


def test_healthz_and_readyz_answer_like_the_health_routes(client: TestClient) -> None:
    assert client.get("/healthz").json() == client.get("/health/live").json() == {"status": "ok"}
    ready, old = client.get("/readyz"), client.get("/health/ready")
    assert ready.status_code == old.status_code == 200
    assert ready.json() == old.json() == {"status": "ready",
                                          "checks": {"database": "ok", "queue": "ok", "models": "ok"}}


def test_readyz_is_not_ready_before_the_model_is_loaded(tmp_path: Path, mailbox: Mailbox, sqlite_url: str) -> None:
    rt = build_runtime(make_settings(sqlite_url, tmp_path / "var", mailbox), make_current=False)
    try:
        with TestClient(create_app(rt, start_consumer=False)) as c:
            r = c.get("/readyz")
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            assert r.json()["details"]["checks"] == {"database": "ok", "queue": "ok", "models": "loading"}
            assert c.get("/healthz").status_code == 200  # the process answers all the same
    finally:
        rt.engine.dispose()


def test_readyz_asks_redis_on_the_queues_connection_not_a_new_one(tmp_path: Path, mailbox: Mailbox,
                                                                   sqlite_url: str, redis_url: str,
                                                                   runtime: Runtime) -> None:
    rt = build_runtime(make_settings(sqlite_url, tmp_path / "var", mailbox, redis_url=redis_url,
                                     tasks_mode="external"), make_current=False)
    rt.set_pipeline(runtime.triage)
    watcher = redis.Redis.from_url(redis_url)
    try:
        with TestClient(create_app(rt, start_consumer=False)) as c:
            assert c.get("/readyz").json()["checks"] == {"database": "ok", "redis": "ok", "models": "ok"}
            before = watcher.info("stats")["total_connections_received"]
            for _ in range(20):
                assert c.get("/readyz").status_code == 200
            assert watcher.info("stats")["total_connections_received"] == before  # pooled: no new connection
    finally:
        watcher.close()
        rt.engine.dispose()


def test_readyz_names_redis_when_it_does_not_answer(tmp_path: Path, mailbox: Mailbox, sqlite_url: str,
                                                    runtime: Runtime) -> None:
    rt = build_runtime(make_settings(sqlite_url, tmp_path / "var", mailbox,
                                     redis_url=f"redis://127.0.0.1:{free_port()}/0", tasks_mode="external"),
                       make_current=False)
    rt.set_pipeline(runtime.triage)
    try:
        with TestClient(create_app(rt, start_consumer=False)) as c:
            r = c.get("/readyz")
            assert r.status_code == 503 and r.json()["code"] == "service_unavailable"
            assert r.json()["details"]["checks"] == {"database": "ok", "redis": "unavailable", "models": "ok"}
            scrape = samples(c.get("/metrics").text)  # the scrape still answers, and says what failed
            assert value(scrape, "caredesk_scrape_error", source="queue") == 1
            assert value(scrape, "caredesk_scrape_error", source="database") == 0
    finally:
        rt.engine.dispose()


def test_metrics_move_with_real_requests(runtime: Runtime, client: TestClient) -> None:
    key = create_key(runtime)
    before = samples(client.get("/metrics").text)
    r = client.post("/api/v1/messages", json=MESSAGE, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201
    kind = r.json()["decision"]["kind"]
    order = r.json()["decision"]["work_order_id"] or "none"
    assert client.get(f"/api/v1/work-orders/{order}", headers={"Authorization": f"Bearer {key}"}).status_code in (
        200, 404)
    client.get("/no/such/page/12345")
    after = samples(client.get("/metrics").text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("caredesk_http_requests_total", method="POST", route="/api/v1/messages", status="201") == 1
    assert moved("caredesk_http_request_duration_seconds_count", method="POST", route="/api/v1/messages") == 1
    # by template, never by raw path: the id and the unknown page do not make series of their own
    assert moved("caredesk_http_request_duration_seconds_count", method="GET",
                 route="/api/v1/work-orders/{order_id}") == 1
    assert moved("caredesk_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert not any("12345" in str(labels) or order in str(labels) for _, labels in after)
    assert moved("caredesk_intake_decisions_total", kind=kind) == 1
    assert moved("caredesk_triage_duration_seconds_count") == 1
    assert value(after, "caredesk_task_queue_depth", state="pending") >= 0
    assert ("caredesk_alarms_open", (("status", "open"),)) in after
    assert value(after, "caredesk_surges_active", status="open") == 0
    assert value(after, "caredesk_scrape_error", source="database") == 0


def test_metrics_are_for_this_machine_unless_a_token_is_set(runtime: Runtime) -> None:
    app = create_app(runtime, start_consumer=False)
    remote = TestClient(app, client=("203.0.113.7", 40000))
    local = TestClient(app, client=("127.0.0.1", 40000))
    assert remote.get("/metrics").status_code == 403 and remote.get("/metrics").json()["code"] == "forbidden"
    assert local.get("/metrics").status_code == 200
    runtime.settings.metrics_access, runtime.settings.metrics_token = "token", "t" * 24
    assert local.get("/metrics").status_code == 401  # with a token set, even this machine needs it
    assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = remote.get("/metrics", headers={"Authorization": f"Bearer {'t' * 24}"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")


WRITER = """
from caredesk.observability.metrics import metrics
m = metrics()
m.requests.labels("GET", "/api/v1/work-orders", "200").inc({n})
m.decisions.labels("answer").inc()
m.request_seconds.labels("GET", "/api/v1/work-orders").observe(0.02)
"""


def test_metrics_sum_the_processes_of_a_multiprocess_directory(runtime: Runtime, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {"PATH": "/usr/bin:/bin", MULTIPROC_ENV: str(directory)}
    for n in (2, 3):  # two processes, as two gunicorn workers would write
        subprocess.run([sys.executable, "-c", WRITER.format(n=n)], env=env, check=True, timeout=60)
    assert len(list(directory.glob("*.db"))) >= 2
    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    with TestClient(create_app(runtime, start_consumer=False)) as c:
        scrape = samples(c.get("/metrics").text)
    assert value(scrape, "caredesk_http_requests_total", method="GET", route="/api/v1/work-orders",
                 status="200") == 5
    assert value(scrape, "caredesk_intake_decisions_total", kind="answer") == 2
    assert value(scrape, "caredesk_http_request_duration_seconds_count", method="GET",
                 route="/api/v1/work-orders") == 2
    assert value(scrape, "caredesk_task_queue_depth", state="pending") >= 0  # the system gauges beside them


def test_json_logs_carry_the_request_id_and_no_customer_data(runtime: Runtime) -> None:
    install_log_masking()
    runtime.settings.log_format = "json"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("caredesk")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    key = create_key(runtime)
    try:
        with TestClient(create_app(runtime, start_consumer=False)) as c:
            r = c.get("/api/v1/work-orders/nope", headers={"Authorization": f"Bearer {key}",
                                                           "X-Request-ID": "lb-7f3a.2"})
            assert r.headers["X-Request-ID"] == "lb-7f3a.2"
            bad = c.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
            generated = bad.headers["X-Request-ID"]
            assert generated != "bad id\twith spaces" and len(generated) == 32
            logging.getLogger("caredesk.test").warning("customer 13812345678 id 110101199003074514 called")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]  # one JSON object per line
    access = [e for e in lines if e["logger"] == "caredesk.http.access"]
    first = next(e for e in access if e.get("request_id") == "lb-7f3a.2")
    assert first["route"] == "/api/v1/work-orders/{order_id}" and first["status"] == 404
    assert first["method"] == "GET" and first["duration_ms"] >= 0 and first["level"] == "info"
    assert first["time"].endswith("+00:00")
    assert any(e.get("request_id") == generated and e["route"] == "/healthz" for e in access)
    text = stream.getvalue()
    assert "13812345678" not in text and "110101199003074514" not in text
    masked = next(e for e in lines if e["logger"] == "caredesk.test")
    assert "138" in masked["message"] and "called" in masked["message"]


def _boom(order_id: str) -> None:
    raise RuntimeError(f"no such order {order_id}")


def test_task_failures_sla_breaches_and_open_alarms_show_in_the_scrape(demo_runtime: Runtime) -> None:
    from caredesk.clock import FrozenClock
    from caredesk.sla.tasks import sla_sweep

    rt = demo_runtime
    rt.queue.register("ops.always_fails", _boom, retries=0)
    with TestClient(create_app(rt, start_consumer=False), raise_server_exceptions=False) as c:
        before = samples(c.get("/metrics").text)
        rt.queue.enqueue(_boom, "x")  # the queue runs it at once here (immediate mode) and it raises
        key = create_key(rt)
        conversation: str | None = None
        # three regulator threats in one conversation: the third raises an alarm (tests/integration: escalation)
        for text in ("再不解决我就打12378投诉你们", "我要向金融监管总局举报", "我已经联系了银保监会和媒体"):
            r = c.post("/api/v1/messages", headers={"Authorization": f"Bearer {key}"},
                       json={"text": text, "channel": "web", "customer_ref": "ops-angry",
                             "conversation_id": conversation})
            assert r.status_code == 201
            conversation = r.json()["conversation_id"]
        assert r.json()["alarm_id"] is not None
        now = rt.clock.now()
        with rt.uow() as uow:  # a surge as detection leaves it (tests/e2e/test_api_analytics_surges.py drives one)
            uow.session.add(Surge(dimension="topic", value="fees_charges", window_start=now - timedelta(hours=2),
                                  window_end=now, detected_at=now, observed=24, expected=3.1))
            uow.commit()
        rt.clock = FrozenClock(rt.clock.now() + timedelta(days=30))  # every open order's SLA is long past
        sla_sweep()
        after = samples(c.get("/metrics").text)
    assert value(after, "caredesk_task_failures_total", task="ops.always_fails") - value(
        before, "caredesk_task_failures_total", task="ops.always_fails") == 1
    assert value(after, "caredesk_alarms_open", status="open") >= 1 > value(before, "caredesk_alarms_open",
                                                                             status="open")
    assert value(after, "caredesk_surges_active", status="open") == 1 + value(before, "caredesk_surges_active",
                                                                               status="open")
    breaches = sum(v for (name, _), v in after.items() if name == "caredesk_sla_breaches_total")
    assert breaches >= 1 and not any(name == "caredesk_sla_breaches_total" for name, _ in before)


def test_worker_serves_its_task_failures_on_a_loopback_port(tmp_path: Path, mailbox: Mailbox, sqlite_url: str,
                                                             redis_url: str) -> None:
    import contextlib
    import time

    import httpx

    from caredesk.sla.tasks import check_sla

    settings = make_settings(sqlite_url, tmp_path / "var", mailbox, redis_url=redis_url, tasks_mode="external")
    env = cli_env(database_url=sqlite_url, redis_url=redis_url, tasks_mode="external", var_dir=str(tmp_path / "var"),
                  environment="test")
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "caredesk.cli.main", "worker", "--metrics-port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rt = build_runtime(settings, make_current=False)
    try:
        rt.queue.enqueue(check_sla)  # no order id: the worker's run raises TypeError
        deadline, failed = time.monotonic() + 60, 0.0
        while failed < 1:
            assert worker.poll() is None and time.monotonic() < deadline, "no failure counted"
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                failed = value(samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text),
                               "caredesk_task_failures_total", task="workorders.check_sla")
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        rt.queue.huey.flush()  # the retries still queued
        rt.engine.dispose()
