"""A real `caredesk serve` process on a temporary SQLite database: POST /api/v1/messages throughput and
latency under a bounded concurrent load over loopback, then the server's resident memory."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from caredesk.bench.http_load import load as _load
from caredesk.bench.http_load import read as _read
from caredesk.bench.processes import (
    cli,
    free_port,
    last_traceback,
    models_for_servers,
    rss_mb,
    rss_parts_mb,
    start,
    stop,
    wait_ready,
)
from caredesk.bench.stats import Figures, Notes, log, mixed_messages, summary_ms

__all__ = ["run", "slope_per_10k"]

LONG_RUN_ENV = "CAREDESK_BENCH_API_LONG_MESSAGES"  # the long run's length (default: 100,000; quick: 2,000)


def slope_per_10k(samples: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS (MB) over messages sent, in MB per 10,000 messages, over the second half of
    the samples (the first fill the bounded caches)."""
    tail = samples[len(samples) // 2:]
    if len(tail) < 2:
        return 0.0
    mx = sum(x for x, _ in tail) / len(tail)
    my = sum(y for _, y in tail) / len(tail)
    var = sum((x - mx) ** 2 for x, _ in tail)
    return round(10_000 * sum((x - mx) * (y - my) for x, y in tail) / var, 2) if var else 0.0


def run(quick: bool) -> tuple[Figures, Notes]:
    n, concurrency, warmup = (200, 8, 40) if quick else (2000, 8, 100)
    long_n = int(os.environ.get(LONG_RUN_ENV, "") or (2000 if quick else 100_000))
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-api-"))
    env = {**os.environ, "CAREDESK_DATABASE_URL": f"sqlite:///{tmp / 'caredesk.db'}",
           "CAREDESK_VAR_DIR": str(tmp / "var"), "CAREDESK_SECRET_KEY": secrets.token_hex(32),
           "CAREDESK_TASKS_MODE": "external", "CAREDESK_ENVIRONMENT": "development",
           # one client key sends everything as fast as it can: the per-key rate limit would measure itself,
           # and its thousands of conversation reads would freeze it as a bulk reader
           "CAREDESK_RATE_LIMIT_PER_MINUTE": "0", "CAREDESK_RECORD_READS_FREEZE_PER_HOUR": "0"}
    env.pop("CAREDESK_REDIS_URL", None)
    first_start = models_for_servers(env, tmp / "models")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for args in (["db", "upgrade"], ["demo"]):
            subprocess.run([*cli(), *args], env=env, check=True, capture_output=True, timeout=300)
        key = subprocess.run([*cli(), "apikey", "create", "--name", "bench", "--role", "admin"], env=env,
                             check=True, capture_output=True, text=True, timeout=120).stdout.strip()
        url = f"http://127.0.0.1:{free_port()}"
        log_path = tmp / "serve.log"
        proc = start(["serve", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]], env, log_path)
        procs.append(proc)
        log(f"api: starting caredesk serve (pid {proc.pid}) on {url}; the first start {first_start}")
        t0 = time.perf_counter()
        wait_ready(url, proc, log_path)
        start_s = time.perf_counter() - t0
        rss_idle, _ = rss_mb(proc.pid)
        log(f"api: ready in {start_s:.1f}s (RSS {rss_idle} MB); {warmup} warm-up + {n} timed requests, "
            f"concurrency {concurrency}")
        # The first request builds the knowledge index (and loads the embedder): sent alone, timed apart.
        first = _load(url, key, mixed_messages(1, seed=20), 1, seed=0)
        log(f"api: first request {first.wall_s:.1f}s")
        warm = _load(url, key, mixed_messages(warmup, seed=21), concurrency, seed=1)
        load = _load(url, key, mixed_messages(n, seed=22), concurrency, seed=2)
        rss, hwm = rss_mb(proc.pid)
        p50, p99 = summary_ms(load.latencies)
        log(f"api: {n / load.wall_s:.1f} req/s, p50 {p50} ms, p99 {p99} ms, RSS {rss} MB")
        ids = sorted(load.conversation_ids)
        reads = _read(url, key, (ids * (1 + n // max(len(ids), 1)))[:n], concurrency)
        read_p50, read_p99 = summary_ms(reads.latencies)
        log(f"api: {n} conversation reads, {n / reads.wall_s:.1f} req/s, p50 {read_p50} ms, p99 {read_p99} ms")
        orders = sorted(load.work_order_ids | warm.work_order_ids)
        details = _read(url, key, (orders * (1 + n // max(len(orders), 1)))[:n], concurrency,
                        path="/api/v1/work-orders/{}")
        detail_p50, detail_p99 = summary_ms(details.latencies)
        log(f"api: {n} work-order detail reads, {n / details.wall_s:.1f} req/s, p50 {detail_p50} ms, "
            f"p99 {detail_p99} ms")
        # The long run: intake only, RSS read after each tenth, to see whether memory stays flat.
        samples: list[tuple[int, float]] = [(0, rss_mb(proc.pid)[0])]
        long_failures: list[str] = []
        long_t0, step = time.perf_counter(), max(long_n // 10, 1)
        for i, at in enumerate(range(0, long_n, step)):
            chunk = _load(url, key, mixed_messages(min(step, long_n - at), seed=100 + i), concurrency, seed=100 + i)
            long_failures += chunk.failures
            samples.append((at + min(step, long_n - at), rss_mb(proc.pid)[0]))
            log(f"api: long run {samples[-1][0]} messages, RSS {samples[-1][1]} MB")
        long_s = time.perf_counter() - long_t0
        parts = rss_parts_mb(proc.pid)
        failures = first.failures + warm.failures + load.failures + reads.failures + details.failures + long_failures
        server_error = last_traceback(log_path) if failures else ""
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)
    figures = {"intake_api_rps": round(n / load.wall_s, 1), "intake_api_p50_ms": p50,
               "intake_api_p99_ms": p99, "api_rss_mb": rss, "api_rss_peak_mb": hwm,
               "api_rss_mb_before_load": rss_idle, "api_startup_s": round(start_s, 1),
               "api_first_request_s": round(first.wall_s, 2),
               "conversation_read_rps": round(n / reads.wall_s, 1), "conversation_read_p50_ms": read_p50,
               "conversation_read_p99_ms": read_p99,
               "workorder_detail_api_rps": round(n / details.wall_s, 1),
               "workorder_detail_api_p50_ms": detail_p50, "workorder_detail_api_p99_ms": detail_p99,
               "workorder_detail_api_load_average_1m": details.load_avg_1m,
               "intake_api_failed_requests": float(len(failures)),
               "api_long_run_messages": float(long_n), "api_rss_mb_after_long_run": samples[-1][1],
               "api_rss_slope_mb_per_10k": slope_per_10k(samples), "api_long_run_rps": round(long_n / long_s, 1),
               "api_rss_anon_mb_after_long_run": parts["anon"], "api_rss_file_mb_after_long_run": parts["file"],
               "bench_load_average_1m": load.load_avg_1m, "bench_client_cpu_share": load.client_cpu_share}
    if long_n >= 100_000:
        figures["api_rss_mb_after_100k"] = samples[-1][1]
    decisions = ", ".join(f"{k} {v}" for k, v in sorted(load.decisions.items()))
    notes = {"api": (
        "`caredesk serve` (1 uvicorn worker) as a subprocess on a fresh SQLite file after `caredesk db "
        f"upgrade`, `caredesk demo` and `caredesk apikey create`; the first start {first_start} "
        "(api_startup_s, which includes building the knowledge index). One first request alone (api_first_request_s), "
        f"{warmup} warm-up then {n} timed POST /api/v1/messages from {concurrency} client "
        "threads (httpx, loopback, one connection each), mixed zh/en messages, about half continuing the "
        f"thread's own earlier conversation; every response checked 201. Decisions in the timed run: "
        f"{decisions}. Client and server share the machine's cores; the per-key rate limit is off "
        "(CAREDESK_RATE_LIMIT_PER_MINUTE=0). CAREDESK_TASKS_MODE=external, so the "
        "urgent messages' meeting notices are queued in tasks.db but not sent (no SMTP server here); the "
        "server inherits OMP/BLAS threads = 1. "
        "api_rss_mb is VmRSS after the load; api_rss_peak_mb is VmHWM. bench_load_average_1m is the "
        "machine's 1-minute load average as the timed run ends; bench_client_cpu_share is the client "
        "process's CPU time during the timed run over (its wall time x cpu_count): the share of the machine "
        "the server could not have. Then conversation_read_*: "
        f"{n} GET /api/v1/conversations/{{id}} over the timed run's conversations from {concurrency} threads; "
        "each read is scope-checked and writes its own hash-chained audit entry (the bulk-read freeze is "
        "off for the one bench key). Then workorder_detail_api_*: "
        f"{n} GET /api/v1/work-orders/{{id}} over the work orders the warm-up and timed runs opened, from "
        f"{concurrency} threads: scope check, the order with its timeline and SLA standing, and the read's own "
        "audit entry (read audit on). Then the long run: "
        f"{long_n} more intakes ({LONG_RUN_ENV}) in ten chunks from {concurrency} threads, VmRSS after each: "
        "api_rss_mb_after_long_run (api_rss_mb_after_100k when it is 100,000), api_rss_slope_mb_per_10k "
        "(least squares over the second half of the samples), api_rss_anon_mb / api_rss_file_mb_after_long_run "
        "(RssAnon: the process's own memory; RssFile: pages of mapped files, shared with every process "
        f"mapping them, e.g. the sentence encoder's table). Samples (messages: MB): "
        f"{', '.join(f'{m}: {r}' for m, r in samples)}.")}
    if failures:  # the figures stay in the report; the *_error note fails the run
        log(f"api: {len(failures)} requests failed, e.g. {failures[0]}")
        notes["api_error"] = (f"{len(failures)} of {3 * n + warmup + 1 + long_n} requests failed: "
                              f"{'; '.join(sorted(set(failures))[:5])}. Server log: {server_error}")
    return figures, notes
