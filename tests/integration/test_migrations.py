"""The Alembic migrations and the SQLAlchemy models describe the same schema (on SQLite and PostgreSQL), and
the rename of work_order.due_at to next_due_at keeps the values both ways on a database with rows in it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text

from caredesk.storage.db import make_engine
from caredesk.storage.migrate import downgrade, upgrade
from caredesk.storage.orm import Base
from tests.conftest import postgres_schema


def test_migrations_match_models(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own, not yet migrated: SQLite through the application's engine (foreign keys on, as
    `caredesk db upgrade` runs), or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema("caredesk_mig", migrated=False) as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _row(table: sa.Table, **values: Any) -> dict[str, Any]:
    """A row with every required column filled."""
    filler: dict[type, Any] = {str: "x", int: 0, datetime: datetime(2026, 1, 1, tzinfo=UTC)}
    row: dict[str, Any] = {}
    for column in table.columns:
        if not column.nullable and column.server_default is None and column.name not in values:
            try:
                row[column.name] = filler.get(column.type.python_type, "x")
            except NotImplementedError:
                row[column.name] = {}
    return row | values


def _due(engine: Engine, column: str) -> dict[str, datetime | None]:
    """The column's values by order id, as aware UTC times (SQLite hands back naive UTC text)."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, {column} FROM work_order")).all()
    return {order_id: _aware(value) for order_id, value in rows}


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_next_due_at_rename_keeps_the_values_up_and_down(empty_engine: Engine) -> None:
    engine = empty_engine
    upgrade(engine, "0014")
    meta = sa.MetaData()
    orders, events = (sa.Table(name, meta, autoload_with=engine) for name in ("work_order", "work_order_event"))
    due = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)
    with engine.begin() as conn:  # an event refers to the order: the rename must not drop the table under it
        conn.execute(orders.insert().values(_row(orders, id="a" * 32, case_number="C20261206-0001", due_at=due)))
        conn.execute(orders.insert().values(_row(orders, id="b" * 32, case_number="C20261206-0002", due_at=None)))
        conn.execute(events.insert().values(_row(events, id="e" * 32, work_order_id="a" * 32, seq=1)))
    expected = {"a" * 32: due, "b" * 32: None}

    upgrade(engine)
    assert _due(engine, "next_due_at") == expected
    downgrade(engine, "0014")
    assert _due(engine, "due_at") == expected
    upgrade(engine)
    assert _due(engine, "next_due_at") == expected
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM work_order_event")).scalar() == 1


def test_upgrading_a_database_with_work_orders_and_their_events_keeps_them(empty_engine: Engine) -> None:
    """0014 copies `work_order` on SQLite (a foreign key added): with events referring to an order, and foreign
    keys enforced as `caredesk db upgrade` runs, the copy failed at DROP TABLE."""
    engine = empty_engine
    upgrade(engine, "0013")
    meta = sa.MetaData()
    orders, events = (sa.Table(name, meta, autoload_with=engine) for name in ("work_order", "work_order_event"))
    with engine.begin() as conn:
        conn.execute(orders.insert().values(_row(orders, id="a" * 32, case_number="C20261206-0001")))
        conn.execute(events.insert().values(_row(events, id="e" * 32, work_order_id="a" * 32, seq=1)))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM work_order_event")).scalar() == 1
        assert conn.execute(text("SELECT id FROM work_order")).scalar() == "a" * 32
        if engine.dialect.name == "sqlite":  # and the pooled connection enforces foreign keys again
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.postgres
def test_migrations_started_together_run_once() -> None:
    """Two replicas run `caredesk db upgrade` at the same moment on an empty schema: one migrates, the other
    waits for it and finds the schema at head (without the lock both created the tables and one failed)."""
    with postgres_schema("caredesk_race", migrated=False) as url:
        # A waiter gives up after 20 s instead of hanging the suite (migrating takes a few seconds).
        engines = [create_engine(url + "%20-clock_timeout%3D20000") for _ in range(2)]
        failures: list[BaseException] = []
        start = threading.Barrier(2)

        def migrate(engine: Engine) -> None:
            start.wait()
            try:
                upgrade(engine)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        try:
            assert failures == []
            with engines[0].connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        finally:
            for e in engines:
                e.dispose()
