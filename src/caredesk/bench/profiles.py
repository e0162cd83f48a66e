"""profile_read_p99_ms: one customer's profile read as GET /api/v1/customers/{id}/profile reads it (the access
function, then profiles/queries.py `profile_view` with the published knowledge index; the audit write and HTTP
are not in it) at 100,000 customers and 1,000,000 customer messages with their triage rows (and 200,000 work
orders, 80,000 profile rows, 30,000 source records), on a temporary SQLite file and (when reachable) a temporary
PostgreSQL schema (`_pg`). The rows are bulk-loaded by bench/analytics.py's generators (executemany / COPY),
with message texts varied by topic so that no two reads see the same question. Each read is of a random
customer in a fresh session."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caredesk.bench.analytics import (
    CONV_COLS,
    MSG_COLS,
    TRI_COLS,
    WO_COLS,
    _messages,
    _orders,
    _write_pg,
    _write_sqlite,
)
from caredesk.bench.pg_schema import on_postgres
from caredesk.bench.stats import Figures, Notes, bench_postgres_url, log, percentile

__all__ = ["run"]

PG_URL = bench_postgres_url()
CUSTOMERS, MESSAGES = 100_000, 1_000_000
QUICK_CUSTOMERS, QUICK_MESSAGES = 5_000, 50_000
PROFILED, SOURCED = 0.8, 0.3  # shares of customers with a profile row, with a source record
PHRASES = ("年费怎么又扣了", "转账还没到账", "卡被冻结了", "贷款还款日能改吗", "额度能不能提高", "被骗了怎么办",
           "账单金额不对", "外汇汇率", "手机银行登录不了", "销户要带什么")
PROFILE_COLS = ("customer_id", "features", "value_score", "loyalty_score", "escalation_risk", "segment", "tags",
                "drivers", "emotion_current", "emotion_trend", "model_version", "features_at", "updated_at")
SOURCE_COLS = ("id", "customer_id", "source", "fields", "status", "error", "fetched_at", "updated_at")


@dataclass(frozen=True)
class _Integration:
    """An integration API key (unscoped), as the access function sees it."""

    kind: str = "api_key"
    id: str = "bench"
    role: str = "agent"


def _varied(msgs: list[tuple[Any, ...]], tris: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The messages with masked texts that differ (a phrase by topic and a number)."""
    out = []
    for k, (m, t) in enumerate(zip(msgs, tris, strict=True)):
        phrase = PHRASES[len(t[13] or "") % len(PHRASES)]
        said = f"{phrase}，第{(k * 7919) % 100_003}号"
        out.append((*m[:4], said, said, *m[6:]))
    return out


def _load(engine: Any, n_customers: int, n_messages: int, label: str, tz: str, end: datetime,
          setup: tuple[str, ...], write: Callable[[Any, str, tuple[str, ...], list[tuple[Any, ...]]], None]
          ) -> list[str]:
    from sqlalchemy import select

    from caredesk.clock import SystemClock
    from caredesk.demo.loader import do_load_demo
    from caredesk.storage.db import make_session_factory
    from caredesk.storage.migrate import upgrade
    from caredesk.storage.orm import Branch, KnowledgeEntry
    from caredesk.storage.unit_of_work import UnitOfWork

    upgrade(engine)
    do_load_demo(UnitOfWork(make_session_factory(engine)), SystemClock())
    with engine.connect() as conn:
        branches = [r[0] for r in conn.execute(select(Branch.id))]
        entry_id = conn.execute(select(KnowledgeEntry.id).limit(1)).scalar_one()
    rng = random.Random(5)
    stamp = (end - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S.%f") + tz
    recent = (end - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f") + tz
    customers = [(f"p{i:031x}", rng.choice(branches) if rng.random() < 0.7 else None) for i in range(n_customers)]
    end_us = int(end.timestamp() * 1_000_000)
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        for sql in setup:
            dbapi.execute(sql)
        tiers = ("standard", "standard", "standard", "gold", "private")
        write(dbapi, "customer", ("id", "ref", "tier", "branch_id", "created_at"),
              [(cid, f"bench-pr-{i}", tiers[i % 5], b, stamp) for i, (cid, b) in enumerate(customers)])
        done = 0
        for convs, msgs, tris in _messages(n_messages, customers, entry_id, end_us, tz):
            write(dbapi, "conversation", CONV_COLS, convs)
            write(dbapi, "message", MSG_COLS, _varied(msgs, tris))
            write(dbapi, "triage_result", TRI_COLS, tris)
            done += len(msgs)
            if done % 200_000 == 0:
                dbapi.commit()
                log(f"profiles[{label}]: {done} messages loaded")
        for orders, _events, _marks, _surveys in _orders(n_messages // 5, customers, end_us, tz):
            write(dbapi, "work_order", WO_COLS, orders)
        emotions, trends = ("angry", "anxious", "neutral", "neutral", "satisfied"), ("rising", "steady", "falling")
        drivers = json.dumps({"value_score": [{"feature": "tier", "weight": 0.4}],
                              "escalation_risk": [{"feature": "complaints_90d", "weight": 0.3}]})
        profiles = [(cid, json.dumps({"contacts_30d": float(i % 9)}), (i % 100) / 100, (i % 37) / 37,
                     (i % 11) / 11, f"seg-{i % 6}", json.dumps(["高价值"] if i % 5 == 4 else []), drivers,
                     emotions[i % 5], trends[i % 3], "bench", recent, recent)
                    for i, (cid, _) in enumerate(customers) if rng.random() < PROFILED]
        for lo in range(0, len(profiles), 20_000):
            write(dbapi, "customer_profile", PROFILE_COLS, profiles[lo:lo + 20_000])
        statuses = ("ok", "ok", "ok", "stale", "failed")
        sources = [(f"r{i:031x}", cid, "crm", json.dumps({"segment": "retail"}), statuses[i % 5],
                    None if i % 5 < 3 else "timed out after 2 s", recent if i % 5 != 4 else None, recent)
                   for i, (cid, _) in enumerate(customers) if rng.random() < SOURCED]
        for lo in range(0, len(sources), 20_000):
            write(dbapi, "customer_source_record", SOURCE_COLS, sources[lo:lo + 20_000])
        dbapi.commit()
    finally:
        raw.invalidate()  # the session settings above must not go back to the pool
    return [cid for cid, _ in customers]


def _measure(engine: Any, ids: list[str], samples: int) -> tuple[list[float], list[float], list[float], int]:
    """(full read seconds, its CPU seconds, read seconds without the knowledge recommendations, past issues
    seen) over random customers, fresh sessions."""
    from caredesk.accounts.access import customer_for
    from caredesk.knowledge.queries import load_published
    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.profiles.queries import profile_view
    from caredesk.storage.db import make_session_factory

    sf = make_session_factory(engine)
    with sf() as s:
        index = KnowledgeIndex(load_published(s), semantic=False)  # the read uses its lexical half only
    viewer, rng = _Integration(), random.Random(23)
    full, cpu, sql, past = [], [], [], 0
    for i in range(samples + 20):  # the first 20 warm the caches and are not counted
        cid = ids[rng.randrange(len(ids))]
        with sf() as s:
            t0, c0 = time.perf_counter(), time.process_time()
            view = profile_view(s, customer_for(s, viewer, cid), knowledge=index)
            took, used = time.perf_counter() - t0, time.process_time() - c0
        with sf() as s:
            t1 = time.perf_counter()
            profile_view(s, customer_for(s, viewer, cid), knowledge=None)
            bare = time.perf_counter() - t1
        if i >= 20:
            full.append(took)
            cpu.append(used)
            sql.append(bare)
            past += len(view.past_issues)
    return full, cpu, sql, past


def _bench_backend(engine: Any, label: str, suffix: str, sizes: tuple[int, int], samples: int, figures: Figures,
                   setup: tuple[str, ...], tz: str,
                   write: Callable[[Any, str, tuple[str, ...], list[tuple[Any, ...]]], None]) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    ids = _load(engine, sizes[0], sizes[1], label, tz, end, setup, write)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    load_s = time.perf_counter() - t0
    log(f"profiles[{label}]: {sizes[0]} customers, {sizes[1]} messages loaded in {load_s:.0f}s; measuring")
    full, cpu, sql, past = _measure(engine, ids, samples)
    figures[f"profile_read_p50_ms{suffix}"] = round(percentile(full, 50) * 1000, 3)
    figures[f"profile_read_p99_ms{suffix}"] = round(percentile(full, 99) * 1000, 3)
    figures[f"profile_read_cpu_p99_ms{suffix}"] = round(percentile(cpu, 99) * 1000, 3)
    figures[f"profile_read_sql_only_p99_ms{suffix}"] = round(percentile(sql, 99) * 1000, 3)
    figures[f"profile_build_s{suffix}"] = round(load_s, 1)
    figures[f"profile_past_issues_per_read{suffix}"] = round(past / max(1, len(full)), 2)
    log(f"profiles[{label}]: read p50 {figures[f'profile_read_p50_ms{suffix}']} ms, "
        f"p99 {figures[f'profile_read_p99_ms{suffix}']} ms")


def run(quick: bool, *, postgres: bool = True) -> tuple[Figures, Notes]:

    from caredesk.storage.db import make_engine

    sizes, samples = ((QUICK_CUSTOMERS, QUICK_MESSAGES), 100) if quick else ((CUSTOMERS, MESSAGES), 1000)
    figures: Figures = {}
    notes: Notes = {"profiles": (
        f"{sizes[0]} customers, {sizes[1]} customer messages with triage rows ({sizes[1] // 4} conversations, "
        f"texts varied by topic), {sizes[1] // 5} work orders, profile rows for ~{PROFILED:.0%} and source records "
        f"for ~{SOURCED:.0%} of customers, bulk-loaded. Measured: the access function + profile_view with the "
        f"demo's published knowledge (lexical half), {samples} random customers, a fresh session each, after 20 "
        "warm-up reads; p50/p99 of the wall time; profile_read_cpu: the process CPU time of the same reads (the "
        "wall time on a busy machine includes waiting for a core; on PostgreSQL the server's CPU is not in it). "
        "profile_read_sql_only: the same read without "
        "the knowledge recommendations. "
        "Not in the figure: the HTTP layer and the audit entry's write (one INSERT in its own transaction).")}
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-pr-"))
    try:
        engine = make_engine(f"sqlite:///{tmp / 'pr.db'}")
        _bench_backend(engine, "sqlite", "", sizes, samples, figures,
                       ("PRAGMA foreign_keys=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"), "",
                       _write_sqlite)
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not postgres:
        return figures, notes
    on_postgres("profiles", PG_URL, notes, "loaded with COPY, then ANALYZE.",
                lambda engine, superuser: _bench_backend(
                    engine, "postgres", "_pg", sizes, samples, figures,
                    ("SET session_replication_role = replica",) if superuser else (), "+00:00", _write_pg))
    return figures, notes
