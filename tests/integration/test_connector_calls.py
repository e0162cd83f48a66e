"""Connector calls against a real HTTP server standing in for each system (tests/support/connector_server.py):
the mapped fields and nothing else, the credentials sent, a 404 as "no such record", a failing, slow or
garbage-answering system as a typed failure free of customer data, retries of transient faults only, and the
circuit breaker opening, refusing calls, probing and closing (clock passed in; in Redis, shared by two
processes' worth of breakers)."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caredesk.cli.main import app
from caredesk.integrations.connectors.breaker import MemoryBreakers, RedisBreakers
from caredesk.integrations.connectors.client import Connectors, Failed, Found, Missing
from caredesk.integrations.connectors.config import ConnectorsFile, ConnectorSpec, load_connectors
from tests.conftest import free_port
from tests.support.connector_server import ENV, ConnectorServer, connector_server, connectors_yaml


@pytest.fixture(scope="module")
def server() -> Iterator[ConnectorServer]:
    with connector_server(free_port()) as state:
        yield state


@pytest.fixture
def system(server: ConnectorServer) -> ConnectorServer:
    server.reset()
    return server


def config(tmp_path: Path, **kwargs: object) -> ConnectorsFile:
    path = tmp_path / "connectors.yaml"
    path.write_text(connectors_yaml(**kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return load_connectors(path)


def connectors(tmp_path: Path, system: ConnectorServer, **kwargs: object) -> tuple[Connectors, ConnectorsFile]:
    cfg = config(tmp_path, **kwargs)
    return Connectors(cfg, MemoryBreakers(), environ=ENV | {"CONN_URL": system.url}), cfg


def spec(cfg: ConnectorsFile, kind: str) -> ConnectorSpec:
    found = cfg.enabled(kind)
    assert found is not None
    return found


def test_order_status_keeps_mapped_fields_and_sends_the_key(tmp_path: Path, system: ConnectorServer) -> None:
    conn, cfg = connectors(tmp_path, system)
    result = conn.call(spec(cfg, "orders"), "status", "123456", now=0)
    assert result == Found("shop", {"status": "SHIPPED", "updated_at": "2026-12-01 10:00", "eta": "2026-12-03"})
    requests = system.seen("/orders")
    assert len(requests) == 1, requests
    assert requests[0].headers["x-api-key"] == "orders-key" and requests[0].path == "/orders/123456"


def test_parcel_status_fills_the_query_and_sends_basic_auth(tmp_path: Path, system: ConnectorServer) -> None:
    conn, cfg = connectors(tmp_path, system)
    result = conn.call(spec(cfg, "logistics"), "status", "SF1234567890", now=0)
    assert result == Found("parcels", {"status": "IN_TRANSIT", "location": "上海转运中心"})
    (request,) = system.seen("/track")
    assert request.query == "no=SF1234567890"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"log-user:log-pass").decode()


def test_a_reference_cannot_change_the_path(tmp_path: Path, system: ConnectorServer) -> None:
    conn, cfg = connectors(tmp_path, system)
    assert conn.call(spec(cfg, "orders"), "status", "../customers/C-CRM-1", now=0) == Missing("shop")
    assert system.seen("/customers") == []  # sent as one encoded segment: no route of the system took it


def test_unknown_order_is_missing_not_a_failure(tmp_path: Path, system: ConnectorServer) -> None:
    conn, cfg = connectors(tmp_path, system, failures=1)
    shop = spec(cfg, "orders")
    assert conn.call(shop, "status", "999999", now=0) == Missing("shop")
    assert conn.state(shop, 0) == "closed"


@pytest.mark.parametrize(("mode", "reason", "attempts"), [
    ("fail", "HTTP 503", 2),  # transient: retried once, as configured
    ("slow", "no answer within 0.5 s", 2),
    ("garbage", "the response is not JSON", 1),  # the system answers, wrongly: another try would not help
    ("wrong_type", "field status (order.status): not a text or a number", 1),
])
def test_failing_system_gives_a_reason_free_of_customer_data(tmp_path: Path, system: ConnectorServer, mode: str,
                                                             reason: str, attempts: int,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    conn, cfg = connectors(tmp_path, system, timeout=0.5)
    system.mode, system.slow_seconds = mode, 6.0  # type: ignore[assignment]
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    result = conn.call(spec(cfg, "orders"), "status", "123456", now=0)
    assert result == Failed("shop", reason)
    assert len(system.seen("/orders")) == attempts
    # the timeout cuts each try (waiting for the slow answers would take 12 s); a wide margin for a loaded machine
    assert time.monotonic() - started < 0.5 * attempts + 3.0
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("caredesk"))
    assert "123456" not in ours and f"connector shop status failed: {reason}" in ours


def test_budget_bounds_the_call_retries_included(tmp_path: Path, system: ConnectorServer) -> None:
    conn, cfg = connectors(tmp_path, system, timeout=1.0, retries=3)
    conn.call(spec(cfg, "orders"), "status", "123456", now=0)  # the process's client is made on its first call
    system.reset()
    system.mode, system.slow_seconds = "slow", 8.0
    started = time.monotonic()
    result = conn.call(spec(cfg, "orders"), "status", "123456", now=0, budget=0.6)
    # without the budget: four tries of 1 s (or the 8 s answer); a wide margin for a loaded machine
    assert isinstance(result, Failed) and time.monotonic() - started < 3.0
    assert len(system.seen("/orders")) == 1


def test_missing_secret_fails_without_calling(tmp_path: Path, system: ConnectorServer) -> None:
    cfg = config(tmp_path)
    conn = Connectors(cfg, environ={"CONN_URL": system.url})
    assert conn.call(spec(cfg, "orders"), "status", "123456", now=0) == Failed(
        "shop", "environment variable CONN_ORDERS_KEY is not set")
    assert system.seen() == []


def test_breaker_opens_refuses_calls_then_a_probe_closes_it(tmp_path: Path, system: ConnectorServer) -> None:
    conn, cfg = connectors(tmp_path, system, failures=2, cooldown=30, retries=0)
    shop = spec(cfg, "orders")
    system.mode = "fail"
    assert isinstance(conn.call(shop, "status", "123456", now=100), Failed)
    assert isinstance(conn.call(shop, "status", "123456", now=101), Failed)
    assert conn.state(shop, 101) == "open" and len(system.seen()) == 2
    refused = conn.call(shop, "status", "123456", now=120)
    assert refused == Failed("shop", "circuit open: the system failed repeatedly", circuit_open=True)
    assert len(system.seen()) == 2  # the open breaker did not call
    system.mode = "ok"
    assert conn.state(shop, 131) == "half_open"
    assert isinstance(conn.call(shop, "status", "123456", now=131), Found)  # the probe
    assert conn.state(shop, 131) == "closed" and len(system.seen()) == 3


@pytest.mark.redis
def test_redis_breaker_is_shared_between_processes(tmp_path: Path, system: ConnectorServer, redis_url: str
                                                   ) -> None:
    cfg = config(tmp_path, failures=2, cooldown=30, retries=0)
    shop = spec(cfg, "orders").model_copy(update={"name": f"shop_{time.time_ns()}"})
    env = ENV | {"CONN_URL": system.url}
    one = Connectors(cfg, RedisBreakers.from_url(redis_url), environ=env)
    two = Connectors(cfg, RedisBreakers.from_url(redis_url), environ=env)
    system.mode = "fail"
    one.call(shop, "status", "123456", now=100)
    two.call(shop, "status", "123456", now=101)  # one failure in each process: two in all
    assert one.state(shop, 102) == two.state(shop, 102) == "open"
    assert two.call(shop, "status", "123456", now=110).circuit_open  # type: ignore[union-attr]
    system.mode = "ok"
    assert isinstance(one.call(shop, "status", "123456", now=140), Found)  # one's probe closes it for both
    assert two.state(shop, 140) == "closed"


def test_redis_breaker_down_falls_back_to_the_process(tmp_path: Path, system: ConnectorServer) -> None:
    cfg = config(tmp_path, failures=1, retries=0)
    conn = Connectors(cfg, RedisBreakers.from_url(f"redis://127.0.0.1:{free_port()}/0"),
                      environ=ENV | {"CONN_URL": system.url})
    assert isinstance(conn.call(spec(cfg, "orders"), "status", "123456", now=0), Found)


def test_cli_validate_and_check(tmp_path: Path, system: ConnectorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text(connectors_yaml(), encoding="utf-8")
    monkeypatch.setenv("CAREDESK_CONNECTORS_FILE", str(path))
    runner = CliRunner()
    missing = runner.invoke(app, ["connectors", "validate"])
    assert missing.exit_code == 2 and "shop: environment variable CONN_ORDERS_KEY is not set" in missing.output
    for name, value in (ENV | {"CONN_URL": system.url}).items():
        monkeypatch.setenv(name, value)
    ok = runner.invoke(app, ["connectors", "validate"])
    assert ok.exit_code == 0 and "3 of 3 connectors enabled" in ok.output
    found = runner.invoke(app, ["connectors", "check", "shop", "--value", "123456"])
    assert found.exit_code == 0 and "fields present: status, updated_at, eta" in found.output
    assert "SHIPPED" not in found.output
    crm = runner.invoke(app, ["connectors", "check", "crm", "--value", "C-CRM-1"])
    assert crm.exit_code == 0 and "王小明" not in crm.output and "fields present: name, tier" in crm.output
    system.mode = "fail"
    down = runner.invoke(app, ["connectors", "check", "shop", "--value", "123456"])
    assert down.exit_code == 1 and "FAILED" in down.output and "HTTP 503" in down.output
    assert runner.invoke(app, ["connectors", "check", "erp", "--value", "1"]).exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(connectors_yaml().replace("retries: 1", "retries: many", 1), encoding="utf-8")
    refused = runner.invoke(app, ["connectors", "validate", str(bad)])
    assert refused.exit_code == 2 and f"{bad}:9: connectors[0].retries" in refused.output
