"""The `api` group's intake load against the deployment of several processes: `caredesk serve --workers 2`
(a gunicorn master and two forked uvicorn workers) on a temporary PostgreSQL schema, tasks on Redis with one
`caredesk worker --threads 2`; then what each process holds in memory and what copy-on-write shares."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from caredesk.bench import processes
from caredesk.bench.http_load import load
from caredesk.bench.pg_schema import drop_schema, prepare_schema
from caredesk.bench.processes import start, stop
from caredesk.bench.stats import Figures, Notes, bench_postgres_url, log, mixed_messages, shown_url, summary_ms

__all__ = ["run"]

WORKERS = 2
TASK_THREADS = 2


def _redis_url() -> str:
    return os.environ.get("CAREDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def _postgres() -> Any:
    """An AUTOCOMMIT engine on the bench database, once it has answered."""
    from sqlalchemy import create_engine, text

    admin = create_engine(bench_postgres_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception:
        admin.dispose()
        raise
    return admin


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=3, socket_timeout=10)
    client.ping()
    return client


def _unreachable() -> tuple[Any, Any, str]:
    """(postgres admin engine, redis client, "") when both answer, else (None, None, why not)."""
    try:
        admin = _postgres()
    except Exception as exc:  # any failure to connect means: not available here
        return None, None, f"PostgreSQL at {shown_url(bench_postgres_url())} unreachable: {str(exc).splitlines()[0]}"
    try:
        return admin, _redis(), ""
    except Exception as exc:
        admin.dispose()
        return None, None, f"Redis at {shown_url(_redis_url())} unreachable: {str(exc).splitlines()[0]}"


def _wait_workers(master: int, count: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(workers := processes.children(master)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    if len(workers) < count:
        raise RuntimeError(f"the gunicorn master {master} has {len(workers)} workers, not {count}")
    return workers


def _memory(master: int) -> tuple[Figures, str]:
    """The master's and its workers' memory after the load. smaps_rollup may be unreadable (an old kernel,
    or another user's process): then only the VmRSS figures, and why."""
    workers = processes.children(master)
    figures: Figures = {"api_rss_mb_pg": max(processes.rss_mb(w)[0] for w in workers),
                        "api_master_rss_mb_pg": processes.rss_mb(master)[0]}
    try:
        rollup = {pid: processes.memory_mb(pid) for pid in [master, *workers]}
    except (OSError, KeyError, ValueError) as exc:
        return figures, f"/proc/<pid>/smaps_rollup not read ({type(exc).__name__}: {exc}); no Pss figures"
    figures["api_workers_private_mb_pg"] = round(sum(rollup[w]["private"] for w in workers), 1)
    figures["api_pss_mb_pg"] = round(sum(m["pss"] for m in rollup.values()), 1)
    return figures, ""


def run(quick: bool) -> tuple[Figures, Notes]:

    n, concurrency, warmup = (200, 8, 40) if quick else (2000, 8, 100)  # as the SQLite run (`api`)
    admin, redis_client, why_not = _unreachable()
    if why_not:
        log(f"api_pg: not run: {why_not}")
        return {}, {"api_pg": f"not run: {why_not}; the *_pg intake figures are absent"}
    schema = f"caredesk_bench_{secrets.token_hex(4)}"
    pg_url, redis_url = bench_postgres_url(), _redis_url()
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-api-pg-"))
    env = {**os.environ, "CAREDESK_DATABASE_URL": url, "CAREDESK_REDIS_URL": redis_url,
           "CAREDESK_VAR_DIR": str(tmp / "var"), "CAREDESK_MAIL_DIR": str(tmp / "mail"),
           "CAREDESK_SECRET_KEY": secrets.token_hex(32), "CAREDESK_TASKS_MODE": "external",
           "CAREDESK_ENVIRONMENT": "development",
           # as in `api`: the per-key rate limit would measure itself (and count in Redis)
           "CAREDESK_RATE_LIMIT_PER_MINUTE": "0", "CAREDESK_RECORD_READS_FREEZE_PER_HOUR": "0"}
    first_start = processes.models_for_servers(env, tmp / "models")
    procs: list[subprocess.Popen[bytes]] = []
    notes: Notes = {}
    try:
        redis_client.flushdb()
        key = prepare_schema(admin, schema, env, "bench")
        base = f"http://127.0.0.1:{processes.free_port()}"
        serve_log, worker_log = tmp / "serve.log", tmp / "worker.log"
        master = start(["serve", "--host", "127.0.0.1", "--port", base.rsplit(":", 1)[1],
                        "--workers", str(WORKERS)], env, serve_log)
        procs.append(master)
        log(f"api_pg: starting caredesk serve --workers {WORKERS} (master pid {master.pid}) on {base}; the "
            f"master {first_start}, then forks")
        t0 = time.perf_counter()
        processes.wait_ready(base, master, serve_log)
        _wait_workers(master.pid, WORKERS)
        start_s = time.perf_counter() - t0
        # after the master has trained and saved the model: the worker loads it rather than train its own
        task_worker = start(["worker", "--threads", str(TASK_THREADS)], env, worker_log)
        procs.append(task_worker)
        log(f"api_pg: ready in {start_s:.1f}s; caredesk worker pid {task_worker.pid}; {warmup} warm-up + {n} "
            f"timed requests, concurrency {concurrency}")
        first = load(base, key, mixed_messages(1, seed=20), 1, seed=0)
        warm = load(base, key, mixed_messages(warmup, seed=21), concurrency, seed=1)
        timed = load(base, key, mixed_messages(n, seed=22), concurrency, seed=2)
        memory, memory_note = _memory(master.pid)
        p50, p99 = summary_ms(timed.latencies)
        log(f"api_pg: {n / timed.wall_s:.1f} req/s, p50 {p50} ms, p99 {p99} ms, {memory}")
        failures = first.failures + warm.failures + timed.failures
        if failures:  # the figures stay in the report; the *_error note fails the run
            log(f"api_pg: {len(failures)} requests failed, e.g. {failures[0]}")
            notes["api_pg_error"] = (f"{len(failures)} of {n + warmup + 1} requests failed: "
                                     f"{'; '.join(sorted(set(failures))[:5])}. Server log: "
                                     f"{processes.last_traceback(serve_log)}")
        if task_worker.poll() is not None:
            notes["api_pg_worker_error"] = (f"caredesk worker exited with {task_worker.returncode}: "
                                            f"{processes.last_traceback(worker_log)}")
    finally:
        stop(procs)
        try:
            drop_schema(admin, schema)
        finally:
            redis_client.flushdb()
            redis_client.close()
            shutil.rmtree(tmp, ignore_errors=True)
    figures: Figures = {
        "intake_api_rps_pg": round(n / timed.wall_s, 1), "intake_api_p50_ms_pg": p50, "intake_api_p99_ms_pg": p99,
        "intake_api_failed_requests_pg": float(len(failures)), **memory,
        "api_startup_s_pg": round(start_s, 1), "api_first_request_s_pg": round(first.wall_s, 2),
        "bench_load_average_1m_pg": timed.load_avg_1m, "bench_client_cpu_share_pg": timed.client_cpu_share}
    decisions = ", ".join(f"{k} {v}" for k, v in sorted(timed.decisions.items()))
    notes["api_pg"] = (
        f"The `api` intake load (same messages, {concurrency} client threads, {warmup} warm-up then {n} timed "
        f"POST /api/v1/messages after one first request alone) against `caredesk serve --workers {WORKERS}`: "
        f"a gunicorn master that {first_start} and builds the knowledge index once (api_startup_s_pg, until "
        f"both workers are up), then forks {WORKERS} uvicorn workers; PostgreSQL at {shown_url(bench_postgres_url())}, "
        f"temporary schema {schema} (migrated with `caredesk db upgrade`, `caredesk demo`, dropped at the end); "
        f"CAREDESK_TASKS_MODE=external on Redis at {shown_url(_redis_url())} (flushed before and after) with one "
        f"`caredesk worker --threads {TASK_THREADS}` running the queued tasks beside the servers (e-mail "
        f"written to files: CAREDESK_MAIL_DIR). Decisions in the timed run: {decisions}. Memory after the "
        "load: api_rss_mb_pg is the largest worker's VmRSS, api_master_rss_mb_pg the master's; "
        "api_workers_private_mb_pg the workers' Private_Clean + Private_Dirty summed (what each holds alone: "
        "pages copied since the fork and what it allocated since), api_pss_mb_pg the Pss of master + workers "
        "summed (shared pages divided among the processes that map them: the three processes' real cost, "
        "to set beside api_rss_mb of the single process). bench_load_average_1m_pg and "
        "bench_client_cpu_share_pg as in `api`; PostgreSQL, Redis, the task worker, the servers and the "
        "client all share the machine's cores.")
    if memory_note:
        notes["api_pg_memory"] = memory_note
    return figures, notes
