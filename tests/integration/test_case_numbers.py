"""Case numbers on the real databases: one number per order under concurrent openers (PostgreSQL), the
daily restart in the display time zone, a rolled-back order's number (given back on SQLite, a gap on
PostgreSQL), and the migration's
backfill of orders made before case numbers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, create_engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.storage.migrate import upgrade
from caredesk.storage.orm import CaseCounter
from caredesk.workorders.case_numbers import allocate_case_number, is_case_number

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(delete(CaseCounter))
    yield engine
    with engine.begin() as conn:
        conn.execute(delete(CaseCounter))
    engine.dispose()


def _take(factory: sessionmaker[Session], now: datetime, *, commit: bool = True) -> str:
    with factory() as session, session.begin():
        number = allocate_case_number(session, now=now, zone=SHANGHAI)
        if not commit:
            session.rollback()
    return number


def test_case_numbers_count_per_day_in_the_display_zone(engine: Engine) -> None:
    factory = sessionmaker(engine)
    before_midnight = datetime(2026, 12, 5, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    after_midnight = before_midnight + timedelta(minutes=1)  # 00:00 on the 6th in Shanghai, still the 5th in UTC
    assert [_take(factory, before_midnight) for _ in range(3)] == [
        "C20261205-0001", "C20261205-0002", "C20261205-0003"]
    assert _take(factory, after_midnight) == "C20261206-0001"  # a new day restarts the sequence
    assert _take(factory, before_midnight) == "C20261205-0004"  # each day keeps its own count


def test_case_number_of_a_rolled_back_order(engine: Engine) -> None:
    """SQLite gives it again (taken in the opening transaction); PostgreSQL leaves a gap (taken in a transaction
    of its own, so that the counter's lock is never held while the opener locks other rows)."""
    factory = sessionmaker(engine)
    now = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    assert _take(factory, now, commit=False) == "C20261206-0001"
    if engine.dialect.name == "postgresql":
        assert [_take(factory, now), _take(factory, now)] == ["C20261206-0002", "C20261206-0003"]
    else:
        assert [_take(factory, now), _take(factory, now)] == ["C20261206-0001", "C20261206-0002"]


def test_case_numbers_past_9999(engine: Engine) -> None:
    factory = sessionmaker(engine)
    with factory() as session, session.begin():
        session.add(CaseCounter(day="20261206", last=9999))
    assert _take(factory, datetime(2026, 12, 6, 2, 0, tzinfo=UTC)) == "C20261206-10000"


@pytest.mark.postgres
def test_case_numbers_unique_under_concurrent_openers_on_postgres(postgres_url: str) -> None:
    """Twelve transactions open orders at the same moment on a day with no counter row yet (all race to
    insert it), each holding its transaction open a little; every one gets its own number, 1 to 12."""
    engine = create_engine(postgres_url, pool_size=12, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(delete(CaseCounter))
    factory = sessionmaker(engine)
    now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    start = threading.Barrier(12)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            start.wait()
            with factory() as session, session.begin():
                number = allocate_case_number(session, now=now, zone=SHANGHAI)
                time.sleep(0.05)  # the rest of the opening transaction
            numbers.append(number)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert errors == []
        assert sorted(numbers) == [f"C20261206-{i:04d}" for i in range(1, 13)]
        with factory() as session:
            assert session.scalar(select(CaseCounter.last).where(CaseCounter.day == "20261206")) == 12
    finally:
        with engine.begin() as conn:
            conn.execute(delete(CaseCounter))
        engine.dispose()


def _row(table: sa.Table, **values: Any) -> dict[str, Any]:
    """A row with every required column filled (the test only cares about id and created_at)."""
    filler: dict[type, Any] = {str: "x", int: 0, datetime: datetime(2026, 1, 1, tzinfo=UTC)}
    row = {}
    for column in table.columns:
        if not column.nullable and column.server_default is None and column.name not in values:
            try:
                row[column.name] = filler.get(column.type.python_type, "x")
            except NotImplementedError:
                row[column.name] = "[]"
    return row | values


def test_migration_backfills_case_numbers_in_order_of_creation(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREDESK_DISPLAY_TIMEZONE", "Asia/Shanghai")
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0011")
    table = sa.Table("work_order", sa.MetaData(), autoload_with=engine)
    made = {  # id -> created (UTC); the second and third are the same Shanghai day, the first the day before
        "b" * 32: datetime(2026, 12, 5, 17, 0, tzinfo=UTC),  # 01:00 on the 6th in Shanghai
        "a" * 32: datetime(2026, 12, 5, 15, 0, tzinfo=UTC),  # 23:00 on the 5th
        "c" * 32: datetime(2026, 12, 6, 1, 0, tzinfo=UTC),  # 09:00 on the 6th
    }
    with engine.begin() as conn:
        for order_id, created in made.items():
            conn.execute(table.insert().values(_row(table, id=order_id, created_at=created, updated_at=created)))
    upgrade(engine)
    with engine.connect() as conn:
        numbers = dict(conn.execute(sa.text("SELECT id, case_number FROM work_order")).all())
        counters = dict(conn.execute(sa.text("SELECT day, last FROM case_counter")).all())
    engine.dispose()
    assert numbers == {"a" * 32: "C20261205-0001", "b" * 32: "C20261206-0001", "c" * 32: "C20261206-0002"}
    assert all(is_case_number(n) for n in numbers.values())
    assert counters == {"20261205": 1, "20261206": 2}  # new orders of those days continue after them
