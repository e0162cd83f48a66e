"""Where one intake's time goes, in one process (a dev tool, not a bench group):

    python -m caredesk.bench.intake_profile [--postgres] [-n 200] [--var DIR]
    python -m caredesk.bench.intake_profile --py-spy stacks.txt ...   (py-spy: a dev tool, pip install py-spy)
    python -m caredesk.bench.intake_profile --summarise stacks.txt
    python -m caredesk.bench.intake_profile --statements 30 ...   (the most frequent statements, per intake)

POSTs the bench's mixed messages to the real app in this process (starlette's TestClient: the middleware,
the API key check, the intake route and its serialisation), counting SQL statements and session flushes per
message with SQLAlchemy event listeners. `--summarise` groups py-spy's collapsed stacks into the kinds of work
an intake does, so that a flame graph reads as a table."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from caredesk.bench.processes import cli
from caredesk.bench.stats import bench_postgres_url, mixed_messages, percentile

__all__ = ["CATEGORIES", "main", "summarise"]

# (category, substrings of a "path:function" frame): the kinds of work in an intake, in priority order (a
# sample counts for the first category with a mark anywhere in its stack: waiting on the database first)
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQL round trips (driver, commit)", ("psycopg/", ".do_execute", "pysqlite.py", ".do_commit",
                                          ".do_begin", "._commit_impl", "pool/base.py")),
    ("triage model", ("caredesk/triage/", "sklearn/", "jieba/", "scipy/")),
    ("audit chain", ("compliance/audit.py",)),
    ("outbox record/dispatch", ("storage/outbox.py", "unit_of_work.py:commit", "notify/live.py")),
    ("flush (ORM unit of work)", ("orm/session.py:flush", "orm/session.py:_flush", "orm/unitofwork.py")),
    ("knowledge search / embedder", ("caredesk/knowledge/", "caredesk/text/encoder", "model2vec",
                                     "tokenizers")),
    ("serialisation", ("fastapi/encoders.py", "pydantic", "json/encoder.py", "fastapi/routing.py:serialize",
                       "api/schemas.py")),
    ("SQLAlchemy ORM/compile", ("sqlalchemy/",)),
    ("HTTP/ASGI stack", ("starlette/", "fastapi/", "anyio/", "httpx/", "h11/")),
)


def _frame(frame: str) -> str:
    """py-spy's "func (path/file.py:line)" as "path/file.py:func"."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    path = path.split("site-packages/")[-1].split("/src/")[-1]
    return f"{path}:{func}" if path else func


def _category(frames: list[str]) -> str:
    """The first category (in CATEGORIES' order) with a mark anywhere in the stack."""
    for category, marks in CATEGORIES:
        if any(m in frame for frame in frames for m in marks):
            return category
    return "other"


def summarise(stacks: Path, top: int = 25) -> str:
    """py-spy's raw (collapsed) output -> share of samples by category (leafmost match) and the top frames
    by cumulative share, over the samples inside an intake only."""
    by_cat: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text(encoding="utf-8").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if "do_receive_message" not in stack and "post_message" not in stack:
            continue
        count = int(count_s)
        total += count
        frames = [_frame(f) for f in stack.split(";")]
        for name in set(frames):
            cumulative[name] += count
        by_cat[_category(frames)] += count
    if not total:
        return "no samples inside an intake"
    out = [f"{total} samples inside an intake", "", "by kind of work (leafmost match):"]
    out += [f"  {100 * c / total:5.1f}%  {cat}" for cat, c in by_cat.most_common()]
    out += ["", f"top {top} frames by cumulative share:"]
    out += [f"  {100 * c / total:5.1f}%  {name}" for name, c in cumulative.most_common(top)]
    return "\n".join(out)


def _setup(postgres: bool, var: Path) -> tuple[dict[str, str], str, Any]:
    """(environment, API key, cleanup) of a migrated database with the demo organisation."""
    var.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CAREDESK_VAR_DIR": str(var), "CAREDESK_SECRET_KEY": "p" * 64,
           "CAREDESK_TASKS_MODE": "external", "CAREDESK_ENVIRONMENT": "development",
           "CAREDESK_RATE_LIMIT_PER_MINUTE": "0", "CAREDESK_RECORD_READS_FREEZE_PER_HOUR": "0"}
    for name in ("CAREDESK_REDIS_URL", "CAREDESK_MODEL_DIR"):
        env.pop(name, None)
    cleanup: Any = lambda: None  # noqa: E731
    if postgres:
        from sqlalchemy import create_engine, text

        schema = f"caredesk_profile_{secrets.token_hex(4)}"
        admin = create_engine(bench_postgres_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        base = bench_postgres_url()
        env["CAREDESK_DATABASE_URL"] = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
    else:
        db = var / "profile.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        env["CAREDESK_DATABASE_URL"] = f"sqlite:///{db}"
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([*cli(), *args], env=env, check=True, capture_output=True, timeout=300)
    key = subprocess.run([*cli(), "apikey", "create", "--name", "profile", "--role", "admin"], env=env,
                         check=True, capture_output=True, text=True, timeout=120).stdout.strip()
    return env, key, cleanup


def _sampler(out: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy sampling this process from now on (after the warm-up: the first messages load the models)."""
    if out is None:
        return None
    exe = Path(sys.executable).with_name("py-spy")
    proc = subprocess.Popen([str(exe), "record", "--format", "raw", "-r", "200", "--pid", str(os.getpid()),
                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc


def _statement(sql: str) -> str:
    """A statement's shape: its first line, parameters and whitespace folded, cut at 110 characters."""
    return re.sub(r"\s+", " ", sql).strip()[:110]


def _run(env: dict[str, str], key: str, n: int, stacks: Path | None, top: int = 0) -> str:
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from starlette.testclient import TestClient

    os.environ.update(env)
    from caredesk.bootstrap import build_runtime
    from caredesk.http.app import create_app

    rt = build_runtime()
    counts = {"sql": 0, "flush": 0}
    shapes: Counter[str] = Counter()
    timed = [False]

    def on_sql(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counts["sql"] += 1
        if timed[0]:
            shapes[_statement(statement)] += 1

    def on_flush(*_: Any) -> None:
        counts["flush"] += 1

    event.listen(rt.engine, "before_cursor_execute", on_sql)
    event.listen(Session, "after_flush", on_flush)
    headers = {"Authorization": f"Bearer {key}"}
    per_sql: list[int] = []
    per_flush: list[int] = []
    seconds: list[float] = []
    cpu: list[float] = []  # the process's CPU time per intake: steadier than latency on a shared machine
    sampler = None
    with TestClient(create_app(rt, start_consumer=False)) as client:
        conversations: list[str] = []
        for i, text in enumerate(mixed_messages(n + 20, seed=22)):
            if i == 20:
                sampler = _sampler(stacks)
                timed[0] = True
            body: dict[str, Any] = {"text": text, "channel": "api", "customer_ref": f"profile-{i % 40}"}
            if conversations and i % 2:
                body["conversation_id"] = conversations[-1]
                body["customer_ref"] = f"profile-{(i - 1) % 40}"
            counts["sql"] = counts["flush"] = 0
            t0, c0 = time.perf_counter(), time.process_time()
            answer = client.post("/api/v1/messages", json=body, headers=headers)
            elapsed, cpu_s = time.perf_counter() - t0, time.process_time() - c0
            if answer.status_code != 201:
                raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
            conversations.append(answer.json()["conversation_id"])
            if i >= 20:  # the first ones load the model, the embedder and the index
                per_sql.append(counts["sql"])
                per_flush.append(counts["flush"])
                seconds.append(elapsed)
                cpu.append(cpu_s)
    if sampler is not None:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
    listing = "".join(f"\n  {c / n:6.2f}  {shape}" for shape, c in shapes.most_common(top)) if top else ""
    return (f"{rt.engine.dialect.name}: {n} intakes after 20 warm-up, one client: "
            f"SQL statements per intake mean {statistics.mean(per_sql):.1f} (min {min(per_sql)}, max "
            f"{max(per_sql)}); flushes per intake mean {statistics.mean(per_flush):.1f} (min {min(per_flush)}, "
            f"max {max(per_flush)}); latency p50 {percentile(seconds, 50) * 1000:.1f} ms, "
            f"p99 {percentile(seconds, 99) * 1000:.1f} ms; CPU time per intake mean "
            f"{statistics.mean(cpu) * 1000:.1f} ms, p50 {percentile(cpu, 50) * 1000:.1f} ms"
            + (f"\nthe {top} most frequent statements, per intake:{listing}" if top else ""))


def main(argv: list[str] | None = None) -> int:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(name, "1")  # as the bench and the servers: one BLAS thread (numpy not loaded yet)
    parser = argparse.ArgumentParser(prog="python -m caredesk.bench.intake_profile", description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="on a temporary schema of the bench database")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--var", type=Path, default=Path("var/profile"),
                        help="the var dir (its trained model is reused between runs)")
    parser.add_argument("--py-spy", type=Path, dest="stacks",
                        help="sample the timed intakes with py-spy into this file (raw collapsed stacks)")
    parser.add_argument("--statements", type=int, default=0, metavar="N",
                        help="also list the N most frequent statement shapes, per intake")
    parser.add_argument("--summarise", type=Path, help="py-spy raw output to summarise instead of running")
    args = parser.parse_args(argv)
    if args.summarise:
        print(summarise(args.summarise))
        return 0
    env, key, cleanup = _setup(args.postgres, args.var.resolve())
    try:
        print(_run(env, key, args.n, args.stacks, args.statements))
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
