"""Temporary PostgreSQL schemas for the bench groups: one that runs CareDesk as processes (created, migrated and
loaded with the demo data through the CLI, as an operator would), or a bare one that a group loads itself;
dropped afterwards either way."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

from caredesk.bench.processes import cli
from caredesk.bench.stats import Notes, log, shown_url

__all__ = ["drop_schema", "on_postgres", "prepare_schema", "scratch_schema"]


def prepare_schema(admin: Any, schema: str, env: Mapping[str, str], key_name: str) -> str:
    """Create `schema` (the CAREDESK_DATABASE_URL in `env` must point its search_path there), run `db upgrade`
    and `demo`, and return a new admin API key."""
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([*cli(), *args], env=env, check=True, capture_output=True, timeout=300)
    return subprocess.run([*cli(), "apikey", "create", "--name", key_name, "--role", "admin"], env=env, check=True,
                          capture_output=True, text=True, timeout=120).stdout.strip()


def drop_schema(admin: Any, schema: str) -> None:
    """Drop the schema and dispose of the admin engine; a lock held by a dying process is waited for 30 s."""
    try:
        with admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '30s'"))
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    finally:
        admin.dispose()


@contextmanager
def scratch_schema(admin: Engine, url: str, make_engine: Callable[[str], Engine]) -> Iterator[tuple[str, Engine]]:
    """A new empty schema and an engine whose search_path is it; the engine disposed and the schema dropped on
    the way out (the admin engine too)."""
    schema = f"caredesk_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{url}?options=-csearch_path%3D{schema}")
    try:
        yield schema, engine
    finally:
        engine.dispose()
        drop_schema(admin, schema)


def on_postgres(group: str, url: str, notes: Notes, how: str, bench: Callable[[Engine, bool], None]) -> None:
    """Run `bench(engine, superuser)` in a scratch schema of the PostgreSQL at `url`: the group's notes say where
    and `how` it was loaded, or why PostgreSQL was not reached (the _pg figures are then omitted), or how the
    bench failed (the other figures stay)."""
    from sqlalchemy import create_engine

    from caredesk.storage.db import make_engine

    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            superuser = bool(conn.exec_driver_sql(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar())
    except Exception as exc:
        notes[f"{group}_postgres"] = (f"PostgreSQL not reachable at {shown_url(url)}: {str(exc).splitlines()[0]}; "
                                      "the _pg figures are omitted")
        return
    with scratch_schema(admin, url, make_engine) as (schema, engine):
        notes[f"{group}_postgres"] = f"PostgreSQL at {shown_url(url)}, temporary schema {schema} (dropped), {how}"
        try:
            bench(engine, superuser)
        except Exception as exc:
            log(f"{group}[postgres]: failed: {exc!r}")
            notes[f"{group}_postgres_error"] = f"{type(exc).__name__}: {exc}"[:2000]
