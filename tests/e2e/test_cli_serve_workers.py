"""`caredesk serve --workers 2` as an operator runs it: a real gunicorn master with two uvicorn workers on
PostgreSQL, tasks on Redis. Both workers answer; a worker killed with SIGKILL is replaced and intake goes on;
every accepted message is stored once. Without a shared task queue several processes are refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from caredesk.triage.model import TriageModel, activate
from tests.conftest import free_port, postgres_schema
from tests.support.cli import caredesk, cli_env

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_schema() -> Iterator[str]:
    """A schema of its own: the server's writes must not reach the schema other tests clean per case."""
    with postgres_schema("caredesk_serve") as url:
        yield url


@pytest.fixture
def serve_env(own_schema: str, redis_url: str, tmp_path: Path, triage_model: TriageModel) -> dict[str, str]:
    activate(triage_model, tmp_path / "models")  # spares the server the first-run training
    return cli_env(database_url=own_schema, redis_url=redis_url, tasks_mode="external", var_dir=str(tmp_path / "var"),
                   model_dir=str(tmp_path / "models"), environment="test",
                   secret_key="serve-test-secret-" + "z" * 32, mail_dir=str(tmp_path / "mail"))


def _workers(master: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return {int(pid) for pid in found}


def _post(port: int, key: str, ref: str) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{port}/api/v1/messages", timeout=30,
                      headers={"Authorization": f"Bearer {key}"},
                      json={"text": "信用卡年费怎么收的？", "channel": "api", "customer_ref": ref})


def test_two_api_processes_answer_and_a_killed_one_is_replaced(serve_env: dict[str, str]) -> None:
    key = caredesk(serve_env, "apikey", "create", "--name", "workers", "--role", "admin").stdout.strip()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "caredesk.cli.main", "serve", "--workers", "2", "--port",
                             str(port)], env=serve_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                first = _post(port, key, "w-0")
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        assert first.status_code == 201
        workers = _workers(proc.pid)
        assert len(workers) == 2
        answered = [_post(port, key, f"w-{i}").status_code for i in range(1, 10)]

        os.kill(min(workers), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(_workers(proc.pid) - workers) < 1 or len(_workers(proc.pid)) < 2:
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.2)
        for i in range(10, 20):
            try:
                answered.append(_post(port, key, f"w-{i}").status_code)
            except httpx.TransportError:  # a request the dead worker held: the client retries once
                answered.append(_post(port, key, f"w-{i}").status_code)
        assert answered == [201] * 19
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert "Booting worker" in out and proc.returncode == 0
    engine = create_engine(serve_env["CAREDESK_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*), count(DISTINCT c.ref) FROM message m JOIN conversation v "
                                       "ON v.id = m.conversation_id JOIN customer c ON c.id = v.customer_id "
                                       "WHERE m.direction = 'in'")).one()
    finally:
        engine.dispose()
    assert tuple(stored) == (20, 20)  # each accepted message once


def test_several_processes_without_a_shared_task_queue_are_refused(serve_env: dict[str, str]) -> None:
    embedded = serve_env | {"CAREDESK_TASKS_MODE": "embedded"}
    result = caredesk(embedded, "serve", "--workers", "2", "--port", str(free_port()))
    assert result.returncode == 2 and "CAREDESK_TASKS_MODE=external" in result.stderr
    assert caredesk(serve_env, "serve", "--workers", "0").returncode == 2
