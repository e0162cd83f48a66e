"""Engines and session factories, built by the composition root (never at import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from caredesk.storage.text_guard import install_text_guard

__all__ = ["make_engine", "make_session_factory"]


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:  # one shared in-memory connection: no pool to size
            kwargs.pop("pool_size", None)
            kwargs.pop("max_overflow", None)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return install_text_guard(engine)
    return install_text_guard(create_engine(url, pool_pre_ping=True, **kwargs))


SQLITE_CACHE_KB = 512  # per connection
WRITE_OPTION = "caredesk_write"  # execution option of a unit of work's connection: take the write lock at once


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web server read while the in-process worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Each pooled connection keeps its own page cache (2 MB by default), and a server under load holds a
    # dozen or more connections: a third of a long run's memory growth (docs/performance.md). The kernel's page
    # cache already holds the file for every connection, so a small private cache costs a read call, not a disk read.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """A unit of work (the WRITE_OPTION) gets a real transaction from its first statement: BEGIN IMMEDIATE
    takes SQLite's write lock now (waiting up to the busy timeout), and its reads and SAVEPOINTs are inside
    it. pysqlite's own handling, kept for everything else so that a request's reads always see the latest
    commits (like PostgreSQL's read committed), would begin only before the first INSERT/UPDATE: reads and a
    SAVEPOINT before it would run outside any transaction, and that RELEASE would commit on its own."""
    dbapi = conn.connection.dbapi_connection
    if conn.get_execution_options().get(WRITE_OPTION):
        dbapi.isolation_level = None  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        dbapi.isolation_level = ""  # type: ignore[union-attr]


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
