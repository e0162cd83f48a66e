"""The analytics overview at 1,000,000 customer messages (with their triage rows) and ~200,000 work orders, on a
temporary SQLite file and (when reachable) a temporary PostgreSQL schema. Rows are bulk-loaded (executemany /
COPY); the hourly roll-up is then built by the real rebuild (analytics/rebuild.py, timed); the measured call is
the real `overview(session, start, end)` over a day, a week, 30 and 90 days with mid-hour ends, each in a fresh
session."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caredesk.bench.pg_schema import on_postgres
from caredesk.bench.stats import Figures, Notes, bench_postgres_url, log, percentile, summary_ms

__all__ = ["run"]

PG_URL = bench_postgres_url()
DAYS = 90
QUICK_MESSAGES = 20_000
CHUNK = 20_000
CHANNELS = (("app", 30), ("web", 20), ("wechat", 25), ("phone", 10), ("chat", 8), ("email", 5), ("sms", 2))
TOPICS = (("card_fraud", 6), ("lost_card", 5), ("annual_fee", 10), ("transfer_delay", 12), ("loan_repayment", 9),
          ("mortgage", 6), ("app_login", 14), ("branch_service", 7), ("wealth_products", 5), ("account_opening", 8),
          (None, 18))
PRODUCTS = (("credit_card", 25), ("debit_card", 15), ("mobile_banking", 15), ("personal_loan", 8),
            ("mortgage", 5), (None, 32))
CONTENT = (("business", 60), ("system", 20), ("branch", 12), ("external_partner", 8))
PROBLEM = (("consultation", 60), ("complaint", 30), ("suggestion", 10))
URGENCY = (("general", 85), ("attention", 12), ("urgent", 3))
# (decision kind, reason code, answered from an entry): the share of each among non-urgent messages
DECISIONS = ((("answer", "kb_match", True), 55), (("answer", "out_of_scope", False), 5),
             (("work_order", "below_threshold", False), 15), (("work_order", "no_entry", False), 12),
             (("work_order", "complaint", False), 8), (("handoff", "handoff", False), 5))
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 10, 8, 9, 10, 10, 9, 8, 7, 7, 8, 6, 4, 2)
MSG_COLS = ("id", "conversation_id", "direction", "author", "text", "text_masked", "language", "created_at",
            "email_attempts")
TRI_COLS = ("id", "message_id", "model_version", "language", "content_type", "content_type_confidence",
            "problem_type", "problem_type_confidence", "urgency", "urgency_confidence", "emotion", "complaint_level",
            "complaint_types", "topic", "product", "entities", "explanation", "decision_kind", "decision_reason",
            "answer_entry_id", "created_at")
CONV_COLS = ("id", "customer_id", "channel", "status", "counted_complaints", "created_at", "last_message_at")
WO_COLS = ("id", "customer_id", "title", "description", "content_type", "problem_type", "urgency", "priority",
           "flow", "step", "status", "status_category", "created_at", "updated_at", "customer_tier", "skills",
           "fields", "escalation_level", "sla_policy", "first_response_at", "resolved_at", "closed_at")
EV_COLS = ("id", "work_order_id", "seq", "kind", "actor", "data", "note", "created_at")
MARK_COLS = ("id", "work_order_id", "target", "kind", "created_at", "email_attempts")
SURVEY_COLS = ("id", "work_order_id", "token", "channel", "attempts", "rating", "comment", "answered_at",
               "created_at")


def _pick(gen: Any, table: tuple[tuple[Any, float], ...], n: int) -> list[Any]:
    import numpy as np

    weights = np.array([w for _, w in table], dtype=float)
    idx = gen.choice(len(table), n, p=weights / weights.sum())
    values = [v for v, _ in table]
    return [values[i] for i in idx.tolist()]


def _stamper(tz_suffix: str) -> Callable[[Any], list[str]]:
    import numpy as np

    def stamp(us: Any) -> list[str]:
        out = np.char.replace(np.datetime_as_string(us.astype("datetime64[us]"), unit="us"), "T", " ")
        return [x + tz_suffix for x in out.tolist()] if tz_suffix else list(out.tolist())
    return stamp


def _times(gen: Any, n: int, end_us: int) -> Any:
    """n instants over the DAYS before end_us, sorted, with a daily curve and quieter weekends."""
    import numpy as np

    day0 = end_us // 86_400_000_000 - DAYS
    days = gen.integers(0, DAYS, n)
    weekday = (day0 + days + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    keep = gen.random(n) < np.where(weekday >= 5, 0.6, 1.0)
    days = np.where(keep, days, gen.integers(0, DAYS, n))
    hw = np.array(HOUR_WEIGHTS, dtype=float)
    hours = gen.choice(24, n, p=hw / hw.sum())
    us = (day0 + days) * 86_400_000_000 + hours * 3_600_000_000 + gen.integers(0, 3_600_000_000, n)
    return np.sort(np.minimum(us, end_us - 1))


def _messages(n: int, customers: list[tuple[str, str | None]], entry_id: str, end_us: int, tz_suffix: str
              ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (conversations, messages, triage rows), oldest first; four messages per conversation."""
    import numpy as np

    gen = np.random.default_rng(11)
    stamp = _stamper(tz_suffix)
    all_us = _times(gen, n, end_us)
    explanations = {code: json.dumps({"decision_reasons": [{"code": code, "params": {}}]})
                    for (_, code, _), _ in DECISIONS}
    explanations["urgent"] = json.dumps({"decision_reasons": [{"code": "urgency_held", "params": {}}]})
    types_json = {(): "[]", ("regulator",): '["regulator"]', ("media",): '["media"]'}
    for lo in range(0, n, CHUNK):
        m = min(CHUNK, n - lo)
        created = stamp(all_us[lo:lo + m])
        channels, topics = _pick(gen, CHANNELS, m), _pick(gen, TOPICS, m)
        products, contents = _pick(gen, PRODUCTS, m), _pick(gen, CONTENT, m)
        problems, urgencies, decisions = _pick(gen, PROBLEM, m), _pick(gen, URGENCY, m), _pick(gen, DECISIONS, m)
        ctype_roll = gen.random(m).tolist()
        cust = gen.integers(0, len(customers), m).tolist()
        convs, msgs, tris = [], [], []
        for i in range(m):
            k = lo + i
            conv_id = f"c{k // 4:031x}"
            if k % 4 == 0:
                convs.append((conv_id, customers[cust[i]][0], channels[i], "closed", 0, created[i], created[i]))
            mid, tid = f"m{k:031x}", f"t{k:031x}"
            msgs.append((mid, conv_id, "in", "customer", "bench", "bench message", "zh", created[i], 0))
            urgent = urgencies[i] == "urgent"
            kind, code, from_entry = ("emergency", "urgent", False) if urgent else decisions[i]
            types: tuple[str, ...] = ()
            if problems[i] == "complaint":
                types = ("regulator",) if ctype_roll[i] < 0.1 else ("media",) if ctype_roll[i] < 0.15 else ()
            tris.append((tid, mid, "bench", "zh", contents[i], 0.9, problems[i], 0.9, urgencies[i], 0.9, "neutral",
                         1 if types else 0, types_json[types], topics[i], products[i], "[]", explanations[code],
                         kind, code, entry_id if from_entry else None, created[i]))
        yield convs, msgs, tris


def _orders(n: int, customers: list[tuple[str, str | None]], end_us: int, tz_suffix: str
            ) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
    """Chunks of (orders, reopen events, resolution breach marks, answered surveys)."""
    import numpy as np

    gen = np.random.default_rng(13)
    stamp = _stamper(tz_suffix)
    all_us = _times(gen, n, end_us)
    reopened_json = json.dumps({"from": "resolved", "to": "reopened"})
    for lo in range(0, n, CHUNK):
        m = min(CHUNK, n - lo)
        us = all_us[lo:lo + m]
        age_h = (end_us - us) / 3_600_000_000
        resolve_us = us + (gen.exponential(20, m) * 3_600_000_000).astype("int64")
        done = (resolve_us < end_us) & (gen.random(m) < np.where(age_h < 72, 0.5, 0.98))
        first_us = us + (gen.exponential(0.5, m) * 3_600_000_000).astype("int64")
        created, resolved, first = stamp(us), stamp(resolve_us), stamp(np.minimum(first_us, end_us - 1))
        answered = stamp(resolve_us + 3_600_000_000)
        roll = gen.random((m, 5)).tolist()
        ratings = gen.choice([5, 4, 3, 2, 1], m, p=[0.5, 0.25, 0.1, 0.08, 0.07]).tolist()
        cust = gen.integers(0, len(customers), m).tolist()
        done_l = done.tolist()
        orders, events, marks, surveys = [], [], [], []
        for i in range(m):
            k = lo + i
            oid = f"o{k:031x}"
            r = roll[i]
            if done_l[i]:
                status, category = ("closed", "closed") if r[0] < 0.8 else ("resolved", "resolved")
            else:
                status, category = ("waiting_customer", "paused") if r[0] < 0.15 else ("in_progress", "open")
            policy = "complaint" if r[1] < 0.35 else "standard" if r[1] < 0.75 else None
            orders.append((oid, customers[cust[i]][0], "bench order", "bench", "business",
                           "complaint" if policy == "complaint" else "consultation", "general", 3, "consultation",
                           "answer", status, category, created[i], created[i], "standard", "[]", "{}", 0, policy,
                           first[i] if r[2] < 0.95 else None, resolved[i] if done_l[i] else None,
                           resolved[i] if category == "closed" else None))
            if done_l[i] and r[3] < 0.04:
                events.append((f"e{k:031x}", oid, 2, "status_changed", "customer", reopened_json, "", resolved[i]))
            if done_l[i] and policy and r[4] < 0.1:
                marks.append((f"s{k:031x}", oid, "resolution", "breach", resolved[i], 0))
            if category == "closed" and r[2] < 0.4:
                surveys.append((f"v{k:031x}", oid, f"tok{k:029x}", "email", 1, ratings[i], "", answered[i],
                                resolved[i]))
        yield orders, events, marks, surveys


def _write_sqlite(dbapi: Any, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        dbapi.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows)


def _write_pg(dbapi: Any, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({','.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _load(engine: Any, n: int, label: str, tz_suffix: str, end: datetime, setup: tuple[str, ...],
          write: Callable[[Any, str, tuple[str, ...], list[tuple[Any, ...]]], None]) -> None:
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
    n_customers = max(1000, n // 20)
    stamp0 = (end - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S.%f") + tz_suffix
    customers = [(f"u{i:031x}", rng.choice(branches) if rng.random() < 0.7 else None) for i in range(n_customers)]
    end_us = int(end.timestamp() * 1_000_000)
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        for sql in setup:
            dbapi.execute(sql)
        write(dbapi, "customer", ("id", "ref", "tier", "branch_id", "created_at"),
              [(cid, f"bench-an-{i}", "standard", b, stamp0) for i, (cid, b) in enumerate(customers)])
        done = 0
        for convs, msgs, tris in _messages(n, customers, entry_id, end_us, tz_suffix):
            write(dbapi, "conversation", CONV_COLS, convs)
            write(dbapi, "message", MSG_COLS, msgs)
            write(dbapi, "triage_result", TRI_COLS, tris)
            done += len(msgs)
            if done % 200_000 == 0:
                dbapi.commit()
                log(f"analytics[{label}]: {done} messages loaded")
        for orders, events, marks, surveys in _orders(n // 5, customers, end_us, tz_suffix):
            write(dbapi, "work_order", WO_COLS, orders)
            write(dbapi, "work_order_event", EV_COLS, events)
            write(dbapi, "work_order_sla_mark", MARK_COLS, marks)
            write(dbapi, "satisfaction_survey", SURVEY_COLS, surveys)
        dbapi.commit()
    finally:
        raw.invalidate()  # the session settings above must not go back to the pool


def _measure(engine: Any, end: datetime, samples: int) -> tuple[dict[str, list[float]], list[float], int]:
    """Overview latencies per range kind (samples each, mid-hour ends spread over the loaded days), the
    work-order part alone over 90 days, and the message count of the whole span (a check of the roll-up)."""
    from caredesk.analytics.order_figures import backlog
    from caredesk.analytics.order_hours import order_sums
    from caredesk.analytics.overview import overview
    from caredesk.storage.db import make_session_factory

    sf = make_session_factory(engine)
    rng = random.Random(21)
    kinds = {"day": timedelta(days=1), "week": timedelta(days=7), "30d": timedelta(days=30),
             "90d": timedelta(days=DAYS)}
    first = end - timedelta(days=DAYS)
    with sf() as s:  # warm-up, and the check that every loaded message is counted once
        total = overview(s, end - timedelta(days=DAYS + 1), end).messages
    times: dict[str, list[float]] = {}
    for name, span in kinds.items():
        out = []
        room = (end - first - span).total_seconds()
        for _ in range(samples):
            start = first + timedelta(seconds=rng.uniform(0, max(room, 0)))
            with sf() as s:
                t0 = time.perf_counter()
                overview(s, start, start + span)
                out.append(time.perf_counter() - t0)
        times[name] = out
    orders = []
    for _ in range(max(10, samples // 3)):
        with sf() as s:
            t0 = time.perf_counter()
            order_sums(s, first, end)
            backlog(s)
            orders.append(time.perf_counter() - t0)
    return times, orders, total


def _bench_backend(engine: Any, label: str, suffix: str, n: int, samples: int, figures: Figures, notes: Notes,
                   setup: tuple[str, ...], tz_suffix: str,
                   write: Callable[[Any, str, tuple[str, ...], list[tuple[Any, ...]]], None]) -> None:
    from caredesk.analytics.rebuild import do_rebuild
    from caredesk.storage.db import make_session_factory

    end = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    _load(engine, n, label, tz_suffix, end, setup, write)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    load_s = time.perf_counter() - t0
    log(f"analytics[{label}]: {n} messages and {n // 5} orders loaded in {load_s:.0f}s; rebuilding the roll-up")
    t0 = time.perf_counter()
    rebuilt = do_rebuild(make_session_factory(engine), end - timedelta(days=DAYS + 1), end, now=end)
    rebuild_s = time.perf_counter() - t0
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE analytics_hourly")
    log(f"analytics[{label}]: roll-up rebuilt in {rebuild_s:.0f}s ({rebuilt.rows} rows); measuring")
    times, orders, total = _measure(engine, end, samples)
    if total != n:
        raise AssertionError(f"the overview of the whole span counts {total} messages, {n} were loaded")
    every = [t for v in times.values() for t in v]
    p50, p99 = summary_ms(every)
    figures[f"analytics_overview_p50_ms_1m{suffix}"] = p50
    figures[f"analytics_overview_p99_ms_1m{suffix}"] = p99
    for name, values in times.items():
        figures[f"analytics_overview_{name}_p99_ms_1m{suffix}"] = summary_ms(values)[1]
    figures[f"analytics_order_figures_90d_p99_ms_1m{suffix}"] = round(percentile(orders, 99) * 1000, 3)
    figures[f"analytics_build_s_1m{suffix}"] = round(load_s + rebuild_s, 1)
    figures[f"analytics_rebuild_s_1m{suffix}"] = round(rebuild_s, 1)
    figures[f"analytics_rollup_rows_1m{suffix}"] = float(rebuilt.rows)
    log(f"analytics[{label}]: overview p50 {p50} ms, p99 {p99} ms")


def run(quick: bool, *, postgres: bool = True) -> tuple[Figures, Notes]:

    from caredesk.storage.db import make_engine

    n, samples = (QUICK_MESSAGES, 10) if quick else (1_000_000, 50)
    figures: Figures = {}
    notes: Notes = {"analytics": (
        f"{n} customer messages with triage rows over {DAYS} days (daily curve, quieter weekends; 7 channels, 10 "
        f"topics, 5 products, 4 content types, 6 demo branches; 4 messages per conversation) and {n // 5} work "
        "orders (4% of resolved ones reopened, 10% of resolved ones under an SLA breached, 40% of closed ones "
        "with an answered survey), bulk-loaded; the hourly roll-up built by the real rebuild "
        "(analytics_rebuild_s, included in analytics_build_s with the load). Measured: overview(session, start, "
        f"end) as the API calls it, a fresh session each, {samples} calls per range kind (a day, a week, 30 days, "
        "90 days) with ends at random seconds (so both partial hours are read from the messages); "
        "p50/p99 over all calls. analytics_order_figures_90d: the work-order part alone (resolved, reopened, "
        "first-contact, SLA breaches, CSAT, backlog) over the whole 90 days. Figure names keep _1m in --quick.")}
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-an-"))
    try:
        engine = make_engine(f"sqlite:///{tmp / 'an.db'}")
        _bench_backend(engine, "sqlite", "", n, samples, figures, notes,
                       ("PRAGMA foreign_keys=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"), "",
                       _write_sqlite)
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not postgres:
        return figures, notes
    on_postgres("analytics", PG_URL, notes, "loaded with COPY, then ANALYZE.",
                lambda engine, superuser: _bench_backend(
                    engine, "postgres", "_pg", n, samples, figures, notes,
                    ("SET session_replication_role = replica",) if superuser else (), "+00:00", _write_pg))
    return figures, notes
