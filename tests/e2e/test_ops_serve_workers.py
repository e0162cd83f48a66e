"""`caredesk serve --workers 2` with JSON logs, as an operator runs it (gunicorn, PostgreSQL, Redis): `/metrics`
sums both worker processes from the multiprocess directory (emptied at start), and every log line the server
writes is one JSON object, the access lines with request id, route, status and duration."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.e2e.test_cli_serve_workers import _workers, own_schema, serve_env  # noqa: F401  (fixtures)
from tests.support.cli import caredesk

pytestmark = pytest.mark.postgres


def _posted(scrape: str) -> float:
    for family in text_string_to_metric_families(scrape):
        for s in family.samples:
            if (s.name == "caredesk_http_requests_total" and s.labels.get("route") == "/api/v1/messages"
                    and s.labels.get("status") == "201"):
                return s.value
    return 0.0


def test_metrics_sum_both_workers_and_logs_are_json(serve_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    env = serve_env | {"CAREDESK_LOG_FORMAT": "json"}
    stale = Path(env["CAREDESK_VAR_DIR"]) / "prometheus"
    stale.mkdir(parents=True)
    (stale / "counter_99999.db").write_bytes(b"left by an earlier run")
    key = caredesk(env, "apikey", "create", "--name", "ops", "--role", "admin").stdout.strip()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "caredesk.cli.main", "serve", "--workers", "2", "--port",
                             str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        assert len(_workers(proc.pid)) == 2
        assert not (stale / "counter_99999.db").exists()  # emptied at start
        for i in range(8):
            r = httpx.post(f"{base}/api/v1/messages", timeout=30, headers={"Authorization": f"Bearer {key}",
                                                                           "X-Request-ID": f"ops-{i}"},
                           json={"text": "信用卡年费怎么收的？", "channel": "api", "customer_ref": f"ops-{i}"})
            assert r.status_code == 201 and r.headers["X-Request-ID"] == f"ops-{i}"
        assert len(list(stale.glob("*.db"))) >= 2  # both workers wrote values (each has answered a request)
        # whichever worker answers the scrape, it reports both processes' requests
        assert [_posted(httpx.get(f"{base}/metrics", timeout=10).text) for _ in range(6)] == [8.0] * 6
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    lines = [line for line in err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(entries) == len([line for line in lines if not line.startswith("Warning")]), lines[:5]
    access = [e for e in entries if e["logger"] == "caredesk.http.access" and e.get("route") == "/api/v1/messages"]
    assert sorted(e["request_id"] for e in access) == [f"ops-{i}" for i in range(8)]
    assert all(e["status"] == 201 and e["duration_ms"] > 0 for e in access)
    assert any(e["logger"].startswith("gunicorn") for e in entries)  # the master's lines too
    assert "信用卡年费" not in err

