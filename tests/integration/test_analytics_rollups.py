"""The hourly roll-up on the real databases: additions land in their UTC hour and dimension values, repeated
additions increment, rolled-back additions leave nothing, and concurrent writers lose no count."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, create_engine, delete
from sqlalchemy.orm import Session, sessionmaker

from caredesk.analytics.rollups import MessageFacts, add_messages, hourly_counts
from caredesk.storage.orm import HourlyCount

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(delete(HourlyCount))
    yield engine
    with engine.begin() as conn:
        conn.execute(delete(HourlyCount))
    engine.dispose()


def _fact(minute: int, channel: str = "web", *, counts: frozenset[str] = frozenset(),
          complaint_types: tuple[str, ...] = ()) -> MessageFacts:
    return MessageFacts(T0 + timedelta(minutes=minute),
                        {"channel": (channel,), "complaint_type": complaint_types, "topic": ()}, counts)


def test_counts_land_in_their_hour_and_values(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        add_messages(s, [_fact(5), _fact(59, "wechat", counts=frozenset({"complaints"})),
                         _fact(61, complaint_types=("regulator", "media", "regulator"))])
    with Session(engine) as s:
        totals = hourly_counts(s, "all", T0, T0 + timedelta(hours=2))
        channels = hourly_counts(s, "channel", T0, T0 + timedelta(hours=2))
        complaints = hourly_counts(s, "channel", T0, T0 + timedelta(hours=2), counter="complaints")
        types = hourly_counts(s, "complaint_type", T0, T0 + timedelta(hours=2))
        topics = hourly_counts(s, "topic", T0, T0 + timedelta(hours=2))
    assert totals == {"": {T0: 2, T0 + timedelta(hours=1): 1}}
    assert channels == {"web": {T0: 1, T0 + timedelta(hours=1): 1}, "wechat": {T0: 1}}
    assert complaints == {"wechat": {T0: 1}}
    assert types == {"regulator": {T0 + timedelta(hours=1): 1}, "media": {T0 + timedelta(hours=1): 1}}
    assert topics == {}  # no value: counted in the totals only


def test_a_local_time_is_bucketed_in_utc_and_the_range_is_half_open(engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    with Session(engine) as s, s.begin():
        add_messages(s, [MessageFacts(datetime(2026, 12, 1, 17, 30, tzinfo=shanghai))])
    with Session(engine) as s:
        assert hourly_counts(s, "all", T0, T0 + timedelta(hours=1)) == {"": {T0: 1}}
        assert hourly_counts(s, "all", T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == {}


def test_additions_increment_and_a_rollback_leaves_nothing(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        add_messages(s, [_fact(1)])
    with Session(engine) as s, s.begin():
        add_messages(s, [_fact(2, counts=frozenset({"urgent"}))])
    with Session(engine) as s:
        s.begin()
        add_messages(s, [_fact(3)])
        s.rollback()
    with Session(engine) as s:
        assert hourly_counts(s, "channel", T0, T0 + timedelta(hours=1)) == {"web": {T0: 2}}
        assert hourly_counts(s, "all", T0, T0 + timedelta(hours=1), counter="urgent") == {"": {T0: 1}}


def test_unknown_names_are_refused(engine: Engine) -> None:
    with Session(engine) as s:
        with pytest.raises(ValueError, match="unknown counters"):
            add_messages(s, [MessageFacts(T0, counts=frozenset({"bogus"}))])
        with pytest.raises(ValueError, match="unknown dimension"):
            hourly_counts(s, "colour", T0, T0)


@pytest.mark.postgres
def test_concurrent_writers_lose_no_count(postgres_url: str) -> None:
    """SQLite has one writer at a time; PostgreSQL's writers race for the same rows."""
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(delete(HourlyCount))
    factory = sessionmaker(engine)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(20):
                with factory() as s, s.begin():
                    add_messages(s, [_fact(i), _fact(i, "wechat")])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Session(engine) as s:
        assert hourly_counts(s, "channel", T0, T0 + timedelta(hours=1)) == {"web": {T0: 80}, "wechat": {T0: 80}}
    with engine.begin() as conn:
        conn.execute(delete(HourlyCount))
    engine.dispose()
