"""Work-order queue and detail at 1,000,000 orders, on a temporary SQLite file and (when reachable) in a
temporary PostgreSQL schema. Orders are bulk-loaded (one `created` event each); the measured calls are the
real actions `list_work_orders`, `get_work_order` and `list_events`, each in a fresh session."""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from caredesk.bench.pg_schema import on_postgres
from caredesk.bench.stats import (
    Figures,
    Notes,
    bench_postgres_url,
    log,
    mixed_messages,
    percentile,
    summary_ms,
)

__all__ = ["run"]

PG_URL = bench_postgres_url()
SLOW_MS = 50.0
CHUNK = 10_000
N_CUSTOMERS = 100_000
# (status, category); the newest 30 days hold most open orders, older ones are nearly all finished.
_RECENT = ((("new", "open"), 12), (("in_progress", "open"), 20), (("reopened", "open"), 2),
           (("waiting_customer", "paused"), 6), (("resolved", "resolved"), 15), (("closed", "closed"), 45))
_OLD = ((("new", "open"), 0.2), (("in_progress", "open"), 0.6), (("reopened", "open"), 0.2),
        (("waiting_customer", "paused"), 0.5), (("resolved", "resolved"), 3.5), (("closed", "closed"), 95))
_FLOWS = (("consultation", "answer"), ("complaint", "investigate"), ("system_complaint", "investigate"),
          ("suggestion", "evaluate"))
_SELECT_LIST = re.compile(r"^SELECT .*? FROM")
WO_COLS = ("id", "conversation_id", "customer_id", "message_id", "title", "description", "content_type",
           "problem_type", "urgency", "priority", "flow", "step", "status", "status_category",
           "department_id", "skill_group_id", "assignee_id", "created_at", "updated_at", "next_due_at")
EV_COLS = ("id", "work_order_id", "seq", "kind", "actor", "data", "note", "created_at")


# --- data ---------------------------------------------------------------------------------------------------
def _ids_for(ts: datetime, rng: random.Random) -> str:
    return f"{int(ts.timestamp() * 1000):012x}{rng.getrandbits(80):020x}"


def _rows(n: int, departments: list[str], staff: list[str], customers: list[str], *, tz_suffix: str,
          seed: int = 3) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (work orders, their `created` events), oldest first over the last 365 days, ids time-ordered
    like `new_id`. Random draws and timestamps are made with numpy per chunk, so a million rows take seconds.
    Timestamps are UTC text ("YYYY-MM-DD HH:MM:SS.ffffff" as SQLAlchemy stores them on SQLite; with
    `tz_suffix` "+00:00" for PostgreSQL COPY)."""
    import numpy as np

    gen = np.random.default_rng(seed)
    texts = [t[:300] for t in mixed_messages(2000, seed=seed)]
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    span_ms = 365 * 86_400_000
    created_all = now_ms - span_ms + np.sort(gen.integers(0, span_ms, n))
    recent_from = now_ms - 30 * 86_400_000
    tables = {True: _RECENT, False: _OLD}
    probs = {k: np.array([w for _, w in t], dtype=float) / sum(w for _, w in t) for k, t in tables.items()}
    dw = np.array(([40, 15, 12, 10] + [4] * max(0, len(departments) - 4))[:len(departments)], dtype=float)
    contents = ("system", "business", "branch", "external_partner")
    urgencies = ("general", "attention", "urgent")
    event_data = [json.dumps({"flow": f, "step": st, "reason": "no knowledge entry"}) for f, st in _FLOWS]

    def stamp(us: Any) -> list[str]:
        out = np.char.replace(np.datetime_as_string(us.astype("datetime64[us]"), unit="us"), "T", " ")
        return [x + tz_suffix for x in out.tolist()] if tz_suffix else out.tolist()

    for lo in range(0, n, CHUNK):
        m = min(CHUNK, n - lo)
        ms = created_all[lo:lo + m]
        is_recent = ms >= recent_from
        status_idx = np.where(is_recent, gen.choice(len(_RECENT), m, p=probs[True]),
                              gen.choice(len(_OLD), m, p=probs[False]))
        created_us = ms * 1000 + gen.integers(0, 1000, m)
        statuses = [tables[bool(r)][k][0]
                    for r, k in zip(is_recent.tolist(), status_idx.tolist(), strict=True)]
        is_open = np.array([c == "open" for _, c in statuses])
        updated_us = np.minimum(created_us + np.where(is_open, 0, gen.integers(0, 72 * 3_600_000_000, m)),
                                now_ms * 1000)
        created, updated, due = stamp(created_us), stamp(updated_us), stamp(created_us + 24 * 3_600_000_000)
        dept = gen.choice(len(departments), m, p=dw / dw.sum()).tolist()
        flow_i = gen.integers(0, len(_FLOWS), m).tolist()
        cust = gen.integers(0, len(customers), m).tolist()
        st = gen.integers(0, len(staff), m).tolist()
        small = gen.integers(0, 60, (m, 2)).tolist()
        rnd = gen.integers(0, 1 << 62, (m, 2)).tolist()
        ms_l = ms.tolist()
        orders, events = [], []
        for i in range(m):
            status, category = statuses[i]
            flow, step = _FLOWS[flow_i[i]]
            text = texts[(lo + i) % len(texts)]
            oid = f"{ms_l[i]:012x}{rnd[i][0]:016x}{rnd[i][1] & 0xFFFF:04x}"
            assignee = None if status in ("new", "reopened") else staff[st[i]]
            orders.append((oid, None, customers[cust[i]], None, text[:80], text, contents[small[i][0] % 4],
                           flow.replace("system_", ""), urgencies[small[i][1] % 3], 1 + small[i][1] % 5, flow,
                           step, status, category, departments[dept[i]], None, assignee, created[i],
                           updated[i], due[i]))
            events.append((f"{ms_l[i]:012x}{rnd[i][1] >> 4:020x}"[:32], oid, 1, "created", "system",
                           event_data[flow_i[i]], "", created[i]))
        yield orders, events


def _prepare(engine: Any) -> tuple[list[str], list[str]]:
    """Migrate, load the demo organisation; return (department ids, staff ids)."""
    from sqlalchemy import select

    from caredesk.clock import SystemClock
    from caredesk.demo.loader import do_load_demo
    from caredesk.storage.db import make_session_factory
    from caredesk.storage.migrate import upgrade
    from caredesk.storage.orm import Department, Staff
    from caredesk.storage.unit_of_work import UnitOfWork

    upgrade(engine)
    do_load_demo(UnitOfWork(make_session_factory(engine)), SystemClock())
    with engine.connect() as conn:
        depts = [r[0] for r in conn.execute(select(Department.id).order_by(Department.code))]
        staff = [r[0] for r in conn.execute(select(Staff.id))]
    return depts, staff


def _customers(n: int, tz_suffix: str) -> list[tuple[Any, ...]]:
    rng = random.Random(17)
    first = datetime.now(UTC) - timedelta(days=400)
    ts = first.strftime("%Y-%m-%d %H:%M:%S.%f") + tz_suffix
    tiers = ("standard", "gold", "private")
    return [(_ids_for(first + timedelta(seconds=i), rng), f"bench-cust-{i}", rng.choice(tiers), ts)
            for i in range(n)]


def _secondary_indexes() -> list[Any]:
    from sqlalchemy import Table

    from caredesk.storage.orm import WorkOrder

    return sorted(cast(Table, WorkOrder.__table__).indexes, key=lambda ix: ix.name)  # a mapped class's Table


def _bulk_load(engine: Any, n: int, label: str, tz_suffix: str,
               write: Callable[[Any, str, tuple[str, ...], list[tuple[Any, ...]]], None],
               session_setup: tuple[str, ...]) -> None:
    """Migrated schema + demo organisation + customers, then the orders and events in chunks on one
    connection (with `session_setup` run first: foreign-key checks off, the rows are valid by construction);
    the work-order secondary indexes are dropped for the load and built again afterwards."""
    depts, staff = _prepare(engine)
    customers = _customers(N_CUSTOMERS if n >= 500_000 else N_CUSTOMERS // 10, tz_suffix)
    with engine.begin() as conn:
        for ix in _secondary_indexes():
            conn.exec_driver_sql(f"DROP INDEX {ix.name}")
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        for sql in session_setup:
            dbapi.execute(sql)
        write(dbapi, "customer", ("id", "ref", "tier", "created_at"), customers)
        done = 0
        for orders, events in _rows(n, depts, staff, [c[0] for c in customers], tz_suffix=tz_suffix):
            write(dbapi, "work_order", WO_COLS, orders)
            write(dbapi, "work_order_event", EV_COLS, events)
            done += len(orders)
            if done % 100_000 == 0:
                dbapi.commit()
            if done % 250_000 == 0:
                log(f"workorders[{label}]: {done} loaded")
        dbapi.commit()
    finally:
        raw.invalidate()  # the session settings above must not go back to the pool
    log(f"workorders[{label}]: building the work-order indexes")
    with engine.begin() as conn:
        for ix in _secondary_indexes():
            ix.create(conn)


def _write_sqlite(dbapi: Any, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    dbapi.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows)


def _write_pg(dbapi: Any, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({','.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _load_sqlite(engine: Any, n: int) -> None:
    _bulk_load(engine, n, "sqlite", "", _write_sqlite,
               ("PRAGMA foreign_keys=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"))


def _load_pg(engine: Any, n: int) -> None:
    # Skipping the per-row foreign-key triggers needs a superuser (trust auth here usually is one).
    with engine.connect() as conn:
        superuser = conn.exec_driver_sql(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
    _bulk_load(engine, n, "postgres", "+00:00", _write_pg,
               ("SET session_replication_role = replica",) if superuser else ())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


# --- measurement -------------------------------------------------------------------------------------------
def _cursor_of(oid: str) -> str:
    return base64.urlsafe_b64encode(oid.encode()).decode().rstrip("=")


def _measure(engine: Any, samples: int, budget_s: float) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Latencies per variant (each stops early after `budget_s`, with at least 30 calls), and the SQL and
    plan of one call of each variant."""
    from sqlalchemy import event, func, select

    from caredesk.storage.db import make_session_factory
    from caredesk.storage.orm import Department, WorkOrder
    from caredesk.workorders.actions import get_work_order, list_events, list_work_orders

    sf = make_session_factory(engine)
    rng = random.Random(99)
    with sf() as s:
        depts = list(s.scalars(select(Department.id)))
        total = s.scalar(select(func.count()).select_from(WorkOrder))
        all_ids = [r[0] for r in s.connection().exec_driver_sql("SELECT id FROM work_order")]
        customers = [c for c in s.scalars(select(WorkOrder.customer_id).limit(5000)) if c is not None]  # all set
        open_rows = s.execute(select(WorkOrder.id, WorkOrder.department_id)
                              .where(WorkOrder.status_category == "open")).all()
    sample_ids = rng.sample(all_ids, samples)
    # a cursor is the last order of the page before, so it is an open order of the same queue
    pages = [(_cursor_of(r[0]), r[1]) for r in rng.sample(open_rows, min(samples, len(open_rows)))]
    del open_rows, all_ids

    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        captured.append((statement, parameters))

    def queue(s: Any, cursor: str | None, department_id: str | None = None) -> Any:
        return list_work_orders(s, cursor=cursor, limit=50, status_category="open",
                                department_id=department_id)

    def by_customer(s: Any, customer_id: str) -> Any:  # what gather_context runs on every emergency
        return list(s.scalars(select(WorkOrder).where(WorkOrder.customer_id == customer_id)
                              .order_by(WorkOrder.created_at.desc()).limit(5)))

    variants: dict[str, Callable[[Any, int], Any]] = {
        "queue_open": lambda s, i: queue(s, None),
        "queue_open_department": lambda s, i: queue(s, None, depts[i % len(depts)]),
        "queue_open_page": lambda s, i: queue(s, pages[i % len(pages)][0]),
        "queue_open_department_page": lambda s, i: queue(s, *pages[i % len(pages)]),
        "detail": lambda s, i: (get_work_order(s, sample_ids[i]), list_events(s, sample_ids[i])),
        "by_customer": lambda s, i: by_customer(s, customers[i % len(customers)]),
    }
    counts = {"detail": samples, "by_customer": max(50, samples // 5)}
    times: dict[str, list[float]] = {}
    plans: dict[str, str] = {}
    for name, fn in variants.items():
        with sf() as s:  # warm-up + capture the SQL of one call
            event.listen(engine, "before_cursor_execute", capture)
            captured.clear()
            fn(s, 0)
            event.remove(engine, "before_cursor_execute", capture)
        plans[name] = _explain(engine, captured)
        out: list[float] = []
        deadline = time.perf_counter() + budget_s
        for i in range(counts.get(name, samples // 4)):
            with sf() as s:
                t0 = time.perf_counter()
                fn(s, i)
                out.append(time.perf_counter() - t0)
            if t0 > deadline and len(out) >= 30:
                break
        times[name] = out
    log(f"measured {sum(len(v) for v in times.values())} calls over {total} work orders")
    return times, plans


def _explain(engine: Any, statements: list[tuple[str, Any]]) -> str:
    out = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for sql, params in statements:
            cur = raw.cursor()
            if engine.dialect.name == "sqlite":
                cur.execute("EXPLAIN QUERY PLAN " + sql, params)
                plan = "; ".join(r[-1] for r in cur.fetchall())
            else:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
                plan = " | ".join(r[0].strip() for r in cur.fetchall())
            cur.close()
            out.append(f"{_SELECT_LIST.sub('SELECT ... FROM', ' '.join(sql.split()), count=1)} => {plan}")
    return " || ".join(out)


def _summarise(times: dict[str, list[float]], suffix: str, figures: Figures) -> None:
    queue = [t for k, v in times.items() if k.startswith("queue") for t in v]
    figures[f"workorder_queue_p99_ms_1m{suffix}"] = round(percentile(queue, 99) * 1000, 3)
    figures[f"workorder_detail_p99_ms_1m{suffix}"] = round(percentile(times["detail"], 99) * 1000, 3)
    for name, values in times.items():
        if name != "detail":
            figures[f"workorder_{name}_p99_ms_1m{suffix}"] = summary_ms(values)[1]


CANDIDATE_INDEXES = (
    "CREATE INDEX ix_bench_work_order_category_id ON work_order (status_category, id)",
    ("CREATE INDEX ix_bench_work_order_category_department_id ON work_order "
     "(status_category, department_id, id)"),
    "CREATE INDEX ix_bench_work_order_customer_created ON work_order (customer_id, created_at)",
)


def _bench_backend(engine: Any, label: str, suffix: str, n: int, samples: int,
                   load: Callable[[Any, int], None], figures: Figures, notes: Notes) -> None:
    t0 = time.perf_counter()
    load(engine, n)
    load_s = time.perf_counter() - t0
    figures[f"workorder_load_s_1m{suffix}"] = round(load_s, 1)
    log(f"workorders[{label}]: {n} orders + events loaded in {load_s:.0f}s; measuring")
    times, plans = _measure(engine, samples, budget_s=10)
    _summarise(times, suffix, figures)
    from caredesk.bench.workorder_ops import ops_throughput

    created_per_s, transitions_per_s, created = ops_throughput(engine, seconds=3 if n < 500_000 else 8)
    figures[f"workorder_create_per_s{suffix}"] = created_per_s
    figures[f"workorder_transition_per_s{suffix}"] = transitions_per_s
    notes[f"workorders_ops{suffix or '_sqlite'}"] = (
        f"{created} complaint orders opened as intake does (conversation, message, flow, SLA policy, skills "
        "routing with row locks on the candidates, events), then status transitions alternating "
        "in_progress/waiting_customer on them; one transaction each, one thread, on the loaded database")
    log(f"workorders[{label}]: {created_per_s} creates/s, {transitions_per_s} transitions/s")
    key = suffix or "_sqlite"
    notes[f"workorders_calls{key}"] = ", ".join(f"{k} {len(v)}" for k, v in times.items())
    notes[f"workorders_plans{key}"] = " ### ".join(f"{k}: {v}" for k, v in plans.items())
    slow = [k for k, v in times.items() if percentile(v, 99) * 1000 > SLOW_MS]
    if slow:
        log(f"workorders[{label}]: slow (p99 > {SLOW_MS} ms): {', '.join(slow)}; trying candidate indexes")
        with engine.begin() as conn:
            for ddl in CANDIDATE_INDEXES:
                conn.exec_driver_sql(ddl)
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE work_order")
        times2, plans2 = _measure(engine, samples, budget_s=10)
        _summarise(times2, f"{suffix}_with_candidate_indexes", figures)
        notes[f"workorders_plans{key}_with_candidate_indexes"] = " ### ".join(
            f"{k}: {v}" for k, v in plans2.items() if k in slow)
        notes[f"workorders_slow{key}"] = (
            f"p99 > {SLOW_MS} ms: {', '.join(slow)}. Re-measured after " + "; ".join(CANDIDATE_INDEXES))


def run(quick: bool, *, postgres: bool = True) -> tuple[Figures, Notes]:

    from caredesk.storage.db import make_engine

    n, samples = (50_000, 200) if quick else (1_000_000, 1000)
    figures: Figures = {}
    customers = N_CUSTOMERS if n >= 500_000 else N_CUSTOMERS // 10
    notes: Notes = {"workorders": (
        f"{n} work orders over the last 365 days (newest 30 days mostly open, older ones ~1% open; "
        f"departments skewed 40/15/12/10/4...), {customers} customers, one `created` event each; bulk-loaded "
        "with the work-order secondary indexes dropped and rebuilt and foreign-key checks off for the load "
        "(SQLite PRAGMA foreign_keys=OFF; PostgreSQL session_replication_role=replica when the user is a "
        "superuser; the rows are valid by construction); SQLite not ANALYZEd (CareDesk never runs it). Each "
        "call in a fresh Session. Queue figure = p99 over all four queue variants (open queue first page; "
        "with a department filter; a page after a cursor taken from an open order; both), up to "
        f"{samples // 4} calls each (each variant stops after 10 s with at least 30 calls); detail = "
        f"get_work_order + list_events for {samples} random ids. by_customer is the query gather_context "
        "runs on every emergency (a customer's orders, newest first). _with_candidate_indexes figures: "
        "re-measured after adding the indexes listed under workorders_slow_*. Figure names keep _1m in "
        "--quick runs.")}
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-wo-"))
    try:
        engine = make_engine(f"sqlite:///{tmp / 'wo.db'}")
        _bench_backend(engine, "sqlite", "", n, samples, _load_sqlite, figures, notes)
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not postgres:
        return figures, notes
    on_postgres("workorders", PG_URL, notes,
                "loaded with COPY, then ANALYZE (as autovacuum would after a bulk load).",
                lambda engine, _superuser: _bench_backend(engine, "postgres", "_pg", n, samples, _load_pg, figures,
                                                          notes))
    return figures, notes
