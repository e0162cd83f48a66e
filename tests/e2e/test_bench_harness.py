"""The benchmark harness around `caredesk serve`: the processes it starts end (SIGTERM, then SIGKILL, the whole
process group), /proc memory is read as documented, and the `api_pg` group either measures and cleans up after
itself (schema dropped, Redis flushed, no process left) or, without PostgreSQL, says why in a note."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from caredesk.bench import api_pg, processes
from caredesk.bench.processes import MODEL_DIR_ENV
from caredesk.triage.model import TriageModel, activate
from tests.conftest import POSTGRES_URL

PG_FIGURES = {"intake_api_rps_pg", "intake_api_p50_ms_pg", "intake_api_p99_ms_pg", "intake_api_failed_requests_pg",
              "api_rss_mb_pg", "api_master_rss_mb_pg", "api_workers_private_mb_pg", "api_pss_mb_pg",
              "bench_load_average_1m_pg", "bench_client_cpu_share_pg"}


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # a zombie waiting for init: no longer running


def _group(script: str) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A shell in a group of its own with a background child, as a gunicorn master with its workers."""
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while not (kids := processes.children(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kids
    return proc, kids


def test_stop_ends_the_whole_group() -> None:
    proc, kids = _group("sleep 300 & wait")
    processes.stop([proc], timeout=10)
    assert proc.returncode is not None
    assert all(_gone(pid) for pid in kids)


def test_stop_kills_a_group_that_ignores_sigterm() -> None:
    proc, kids = _group("trap '' TERM; sleep 300 & wait; wait")
    t0 = time.monotonic()
    processes.stop([proc], timeout=1)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == -9
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in kids)


def test_memory_of_a_process() -> None:
    memory = processes.memory_mb(os.getpid())
    rss, _ = processes.rss_mb(os.getpid())
    assert 0 < memory["private"] <= memory["rss"] and 0 < memory["pss"] <= memory["rss"]
    assert abs(memory["rss"] - rss) < 0.2 * rss  # two reads of the same process, a moment apart


def test_api_pg_without_postgres_is_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREDESK_BENCH_POSTGRES_URL", "postgresql+psycopg://bench:s3cret@127.0.0.1:1/none")
    figures, notes = api_pg.run(quick=True)
    assert figures == {}
    assert notes["api_pg"].startswith("not run: PostgreSQL at postgresql+psycopg://bench:***@127.0.0.1:1/none")
    assert "s3cret" not in notes["api_pg"]


@pytest.mark.postgres
@pytest.mark.redis
def test_api_pg_quick_measures_and_cleans_up(postgres_url: str, redis_url: str, tmp_path: Path,
                                             triage_model: TriageModel) -> None:
    """The quick form end to end. Whether every request succeeded is CareDesk's concern, not the harness's:
    a failed request is counted (intake_api_failed_requests_pg) and named in the api_pg_error note."""
    import redis

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    schemas = text("select nspname from pg_namespace where nspname like 'caredesk_bench_%'")
    with admin.connect() as conn:
        before = set(conn.scalars(schemas))
    store = redis.Redis.from_url(redis_url)
    store.set("left-from-before", "1")  # flushed before the run
    activate(triage_model, tmp_path / "models")  # the servers load it (CAREDESK_BENCH_MODEL_DIR) rather than train
    env = {**os.environ, "CAREDESK_BENCH_POSTGRES_URL": POSTGRES_URL, "CAREDESK_BENCH_REDIS_URL": redis_url,
           MODEL_DIR_ENV: str(tmp_path / "models")}
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "caredesk.bench", "--only", "api_pg", "--quick", "--output",
                           str(out)], env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(out.read_text())
    assert set(report) >= PG_FIGURES, done.stderr[-3000:]
    assert report["intake_api_rps_pg"] > 0 and 0 < report["bench_client_cpu_share_pg"] < 1
    assert f"loads the model copied from {MODEL_DIR_ENV}" in report["notes"]["api_pg"]
    assert report["api_pss_mb_pg"] < report["api_master_rss_mb_pg"] + 2 * report["api_rss_mb_pg"]
    errors = {key for key in report["notes"] if key.endswith("_error")}
    assert done.returncode == (1 if errors else 0)
    assert errors <= {"api_pg_error"} and (report["intake_api_failed_requests_pg"] > 0) == bool(errors)
    with admin.connect() as conn:
        assert set(conn.scalars(schemas)) == before
    admin.dispose()
    assert store.dbsize() == 0
    pids = [int(pid) for pid in re.findall(r"(?:master pid|worker pid) (\d+)", done.stderr)]
    assert len(pids) == 2 and all(_gone(pid) for pid in pids)
