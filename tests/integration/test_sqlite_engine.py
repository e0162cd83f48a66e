"""The embedded database's connections: every pooled connection to a SQLite file gets the same settings."""

from __future__ import annotations

from pathlib import Path

from caredesk.storage.db import SQLITE_CACHE_KB, make_engine


def test_every_pooled_sqlite_connection_has_wal_foreign_keys_and_a_small_page_cache(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'caredesk.db'}", pool_size=2, max_overflow=2)
    held = [engine.connect() for _ in range(3)]  # more than the pool keeps: an overflow connection too
    try:
        for conn in held:
            pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                       for name in ("journal_mode", "foreign_keys", "cache_size")}
            # a negative cache_size is in KiB: each connection's own cache stays at SQLITE_CACHE_KB
            assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "cache_size": -SQLITE_CACHE_KB}
    finally:
        for conn in held:
            conn.close()
        engine.dispose()
