"""The load client of the API benchmarks: POST /api/v1/messages and audited GETs (a conversation, a work
order) from a few threads over loopback, with what the run cost the client itself and how loaded the machine was."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CHANNELS", "LoadResult", "load", "read"]

CHANNELS = ("web", "chat", "api", "app", "wechat", "email")


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    decisions: Counter[str] = field(default_factory=Counter)
    conversation_ids: set[str] = field(default_factory=set)
    work_order_ids: set[str] = field(default_factory=set)
    client_cpu_s: float = 0.0  # CPU time of this (client) process while the threads ran
    load_avg_1m: float = 0.0  # the machine's 1-minute load average when the last thread finished

    @property
    def client_cpu_share(self) -> float:
        """The client's share of the machine's CPU capacity (all cores) during the run: what the server
        could not have."""
        return round(self.client_cpu_s / (self.wall_s * (os.cpu_count() or 1)), 3) if self.wall_s else 0.0


def _run_threads(result: LoadResult, threads: list[threading.Thread], start: threading.Barrier | None) -> None:
    """Timed from the barrier's release when there is one (the threads have opened their clients), else from
    before the threads start."""
    cpu0, t0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    if start is not None:
        start.wait()
        cpu0, t0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.join()
    result.wall_s = time.perf_counter() - t0
    result.client_cpu_s = time.process_time() - cpu0
    result.load_avg_1m = round(os.getloadavg()[0], 2)


def load(url: str, key: str, messages: list[str], concurrency: int, seed: int) -> LoadResult:
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
                    if data["decision"].get("work_order_id"):
                        result.work_order_ids.add(data["decision"]["work_order_id"])
        with lock:
            result.latencies.extend(local)

    _run_threads(result, [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(concurrency)],
                 start)
    return result


def read(url: str, key: str, ids: list[str], concurrency: int, path: str = "/api/v1/conversations/{}"
         ) -> LoadResult:
    """GET `path` with each id (a conversation by default, or a work order) from `concurrency` threads: each
    is a scoped, audited read (one audit entry written per read)."""
    import httpx

    result = LoadResult()
    lock = threading.Lock()
    shards = [ids[i::concurrency] for i in range(concurrency)]

    def worker(w: int) -> None:
        local: list[float] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            for one in shards[w]:
                t0 = time.perf_counter()
                resp = client.get(path.format(one))
                local.append(time.perf_counter() - t0)
                if resp.status_code != 200:
                    with lock:
                        result.failures.append(f"{resp.status_code}: {resp.text[:200]}")
        with lock:
            result.latencies.extend(local)

    _run_threads(result, [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(concurrency)],
                 None)
    return result
