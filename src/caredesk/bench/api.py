"""A real `caredesk serve` process on a temporary SQLite database: POST /api/v1/messages throughput and
latency under a bounded concurrent load over loopback, then the server's resident memory."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from caredesk.bench.stats import Figures, Notes, log, mixed_messages, summary_ms

__all__ = ["run"]

CHANNELS = ("web", "chat", "api", "app", "wechat", "email")


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    decisions: Counter[str] = field(default_factory=Counter)
    conversation_ids: set[str] = field(default_factory=set)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("caredesk")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "caredesk.cli.main"]


def _rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"caredesk serve exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"caredesk serve did not answer within {timeout:.0f}s:\n{tail}")


def _load(url: str, key: str, messages: list[str], concurrency: int, seed: int) -> LoadResult:
    """Each worker thread owns its customers and continues its own conversations (about half the messages
    go to an existing conversation), so the conversation watch sees growing sessions."""
    import httpx

    result = LoadResult()
    lock = threading.Lock()
    shards = [messages[i::concurrency] for i in range(concurrency)]
    start = threading.Barrier(concurrency + 1)

    def worker(w: int) -> None:
        rng = random.Random(seed * 100 + w)
        conversations: dict[str, str] = {}
        local: list[float] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            start.wait()
            for text in shards[w]:
                customer = f"bench-{seed}-w{w}-c{rng.randrange(40)}"
                body: dict[str, object] = {"text": text, "channel": rng.choice(CHANNELS),
                                           "customer_ref": customer}
                if customer in conversations and rng.random() < 0.5:
                    body["conversation_id"] = conversations[customer]
                t0 = time.perf_counter()
                try:
                    resp = client.post("/api/v1/messages", json=body)
                except httpx.HTTPError as exc:
                    with lock:
                        result.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                local.append(time.perf_counter() - t0)
                if resp.status_code != 201:
                    with lock:
                        result.failures.append(f"{resp.status_code}: {resp.text[:200]}")
                    continue
                data = resp.json()
                conversations[customer] = data["conversation_id"]
                with lock:
                    result.decisions[data["decision"]["kind"]] += 1
                    result.conversation_ids.add(data["conversation_id"])
        with lock:
            result.latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(concurrency)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    result.wall_s = time.perf_counter() - t0
    return result


def _read(url: str, key: str, conversation_ids: list[str], concurrency: int) -> LoadResult:
    """GET /api/v1/conversations/{id} from `concurrency` threads: each is a scoped, audited read (one
    audit entry written per read)."""
    import httpx

    result = LoadResult()
    lock = threading.Lock()
    shards = [conversation_ids[i::concurrency] for i in range(concurrency)]

    def worker(w: int) -> None:
        local: list[float] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            for conversation_id in shards[w]:
                t0 = time.perf_counter()
                resp = client.get(f"/api/v1/conversations/{conversation_id}")
                local.append(time.perf_counter() - t0)
                if resp.status_code != 200:
                    with lock:
                        result.failures.append(f"{resp.status_code}: {resp.text[:200]}")
        with lock:
            result.latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.wall_s = time.perf_counter() - t0
    return result


def _last_traceback(log_path: Path) -> str:
    """The end of the server log's last traceback (where the exception is named), or the log's end."""
    text = log_path.read_text(errors="replace")
    start = text.rfind("Traceback (most recent call last)")
    if start < 0:
        return text[-1500:]
    lines = text[start:].splitlines()
    end = next((i for i, line in enumerate(lines[1:], 1) if line[:1].isdigit()), len(lines))
    return "\n".join(lines[:end])[-2500:]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(quick: bool) -> tuple[Figures, Notes]:
    n, concurrency, warmup = (200, 8, 40) if quick else (2000, 8, 100)
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-api-"))
    env = {**os.environ, "CAREDESK_DATABASE_URL": f"sqlite:///{tmp / 'caredesk.db'}",
           "CAREDESK_VAR_DIR": str(tmp / "var"), "CAREDESK_SECRET_KEY": secrets.token_hex(32),
           "CAREDESK_TASKS_MODE": "external", "CAREDESK_ENVIRONMENT": "development",
           # one client key sends everything as fast as it can: the per-key rate limit would measure itself,
           # and its thousands of conversation reads would freeze it as a bulk reader
           "CAREDESK_RATE_LIMIT_PER_MINUTE": "0", "CAREDESK_RECORD_READS_FREEZE_PER_HOUR": "0"}
    for var in ("CAREDESK_REDIS_URL", "CAREDESK_MODEL_DIR"):
        env.pop(var, None)
    cli = _cli()
    proc = None
    try:
        for args in (["db", "upgrade"], ["demo"]):
            subprocess.run([*cli, *args], env=env, check=True, capture_output=True, timeout=300)
        key = subprocess.run([*cli, "apikey", "create", "--name", "bench", "--role", "admin"], env=env,
                             check=True, capture_output=True, text=True, timeout=120).stdout.strip()
        url = f"http://127.0.0.1:{_free_port()}"
        log_path = tmp / "serve.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]],
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
        log(f"api: starting caredesk serve (pid {proc.pid}) on {url}; the first start trains the model")
        t0 = time.perf_counter()
        _wait_ready(url, proc, log_path)
        start_s = time.perf_counter() - t0
        rss_idle, _ = _rss_mb(proc.pid)
        log(f"api: ready in {start_s:.1f}s (RSS {rss_idle} MB); {warmup} warm-up + {n} timed requests, "
            f"concurrency {concurrency}")
        # The first request builds the knowledge index (and loads the embedder): sent alone, timed apart.
        first = _load(url, key, mixed_messages(1, seed=20), 1, seed=0)
        log(f"api: first request {first.wall_s:.1f}s")
        warm = _load(url, key, mixed_messages(warmup, seed=21), concurrency, seed=1)
        load = _load(url, key, mixed_messages(n, seed=22), concurrency, seed=2)
        rss, hwm = _rss_mb(proc.pid)
        p50, p99 = summary_ms(load.latencies)
        log(f"api: {n / load.wall_s:.1f} req/s, p50 {p50} ms, p99 {p99} ms, RSS {rss} MB")
        ids = sorted(load.conversation_ids)
        reads = _read(url, key, (ids * (1 + n // max(len(ids), 1)))[:n], concurrency)
        read_p50, read_p99 = summary_ms(reads.latencies)
        log(f"api: {n} conversation reads, {n / reads.wall_s:.1f} req/s, p50 {read_p50} ms, p99 {read_p99} ms")
        failures = first.failures + warm.failures + load.failures + reads.failures
        server_error = _last_traceback(log_path) if failures else ""
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    figures = {"intake_api_rps": round(n / load.wall_s, 1), "intake_api_p50_ms": p50,
               "intake_api_p99_ms": p99, "api_rss_mb": rss, "api_rss_peak_mb": hwm,
               "api_rss_mb_before_load": rss_idle, "api_startup_s": round(start_s, 1),
               "api_first_request_s": round(first.wall_s, 2),
               "conversation_read_rps": round(n / reads.wall_s, 1), "conversation_read_p50_ms": read_p50,
               "conversation_read_p99_ms": read_p99,
               "intake_api_failed_requests": float(len(failures))}
    decisions = ", ".join(f"{k} {v}" for k, v in sorted(load.decisions.items()))
    notes = {"api": (
        "`caredesk serve` (1 uvicorn worker) as a subprocess on a fresh SQLite file after `caredesk db "
        "upgrade`, `caredesk demo` and `caredesk apikey create`; the model is trained at first start "
        "(api_startup_s, which includes building the knowledge index). One first request alone (api_first_request_s), "
        f"{warmup} warm-up then {n} timed POST /api/v1/messages from {concurrency} client "
        "threads (httpx, loopback, one connection each), mixed zh/en messages, about half continuing the "
        f"thread's own earlier conversation; every response checked 201. Decisions in the timed run: "
        f"{decisions}. Client and server share the machine's cores; the per-key rate limit is off "
        "(CAREDESK_RATE_LIMIT_PER_MINUTE=0). CAREDESK_TASKS_MODE=external, so the "
        "urgent messages' meeting notices are queued in tasks.db but not sent (no SMTP server here); the "
        "server inherits OMP/BLAS threads = 1. "
        "api_rss_mb is VmRSS after the load; api_rss_peak_mb is VmHWM. Then conversation_read_*: "
        f"{n} GET /api/v1/conversations/{{id}} over the timed run's conversations from {concurrency} threads; "
        "each read is scope-checked and writes its own hash-chained audit entry (the bulk-read freeze is "
        "off for the one bench key).")}
    if failures:  # the figures stay in the report; the *_error note fails the run
        log(f"api: {len(failures)} requests failed, e.g. {failures[0]}")
        notes["api_error"] = (f"{len(failures)} of {2 * n + warmup + 1} requests failed: "
                              f"{'; '.join(sorted(set(failures))[:5])}. Server log: {server_error}")
    return figures, notes
