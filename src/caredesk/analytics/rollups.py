"""Hourly roll-ups of customer messages (table analytics_hourly): add a batch of messages' facts, read counts back.

Adding is one upsert that increments (one statement, executed for each row), so concurrent intakes on PostgreSQL
never lose a count and the caller's transaction decides whether the counts land with the messages they count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from caredesk.storage.orm import HourlyCount

__all__ = ["COUNTERS", "DIMENSIONS", "TOTAL", "MessageFacts", "add_messages", "hour_of", "hourly_counts"]

TOTAL = "all"  # the dimension whose single value "" holds the totals
DIMENSIONS = ("channel", "topic", "product", "content_type", "problem_type", "branch", "complaint_type")
COUNTERS = ("messages", "complaints", "urgent", "auto_answered", "unanswered", "handed_off", "emergencies",
            "regulator")
VALUE_MAX = 64


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What one customer message adds: its hour, its value on each dimension (several for complaint types; none
    when unknown) and which counters it counts in (`messages` always)."""

    received_at: datetime
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    counts: frozenset[str] = frozenset()


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@cache
def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, HourlyCount.__table__)
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=["dimension", "value", "hour_start"],
                                      set_={name: table.c[name] + stmt.excluded[name] for name in COUNTERS})


def add_messages(session: Session, facts: Iterable[MessageFacts]) -> int:
    """Add the messages to their hours with one upsert statement; returns the number of roll-up rows touched."""
    cells: dict[tuple[str, str, datetime], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for fact in facts:
        unknown = set(fact.counts) - set(COUNTERS)
        if unknown:
            raise ValueError(f"unknown counters: {sorted(unknown)}")
        hour = hour_of(fact.received_at)
        keys = [(TOTAL, "")] + [(dim, value[:VALUE_MAX]) for dim, values in fact.values.items()
                                if dim in DIMENSIONS for value in dict.fromkeys(values) if value]
        for key in keys:
            cell = cells[(key[0], key[1], hour)]
            cell["messages"] += 1
            for name in fact.counts - {"messages"}:
                cell[name] += 1
    if not cells:
        return 0
    rows = [{"dimension": d, "value": v, "hour_start": h, **counts} for (d, v, h), counts in sorted(cells.items())]
    # One cached statement executed for many rows: a multi-row VALUES is compiled anew for each count of rows
    # (~10 ms per intake); the rows go in key order, so concurrent writers lock alike.
    session.execute(_upsert(session.get_bind().dialect.name), rows)
    return len(rows)


def hourly_counts(session: Session, dimension: str, start: datetime, end: datetime,
                  counter: str = "messages") -> dict[str, dict[datetime, int]]:
    """value -> {hour_start: count} for the hours in [start, end); hours with no message are absent."""
    if dimension != TOTAL and dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension: {dimension}")
    if counter not in COUNTERS:
        raise ValueError(f"unknown counter: {counter}")
    column = HourlyCount.__table__.c[counter]
    rows = session.execute(
        select(HourlyCount.value, HourlyCount.hour_start, column)
        .where(HourlyCount.dimension == dimension, HourlyCount.hour_start >= start, HourlyCount.hour_start < end))
    out: dict[str, dict[datetime, int]] = defaultdict(dict)
    for value, hour, count in rows:
        if count:
            out[value][hour] = count
    return dict(out)
