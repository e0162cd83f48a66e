"""The team page's figures on the real databases: who gave each order's first response (per-agent median and p90,
from the work-order log), the handling time measured from the agents' actions, and the team forecast over a
hand-made roll-up (totals, each channel, the busy topics; daily bands; staff per hour from the share handed to
a person and the handling time), kept in the task queue's real store and read back; a time budget gives the
totals alone, quickly, with no model fit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from huey import SqliteHuey
from sqlalchemy import Engine, create_engine, delete, update
from sqlalchemy.orm import Session

from caredesk.analytics.agent_times import answered_orders, measured_handling_time
from caredesk.analytics.dashboard import agent_figures
from caredesk.analytics.forecast import Staffing
from caredesk.analytics.rollups import MessageFacts, add_messages
from caredesk.analytics.staffing import agents_needed
from caredesk.analytics.team_forecast import DAYS, QueueStore, TeamForecast, compute_team_forecast, forecast_for_page
from caredesk.storage.orm import HourlyCount, Staff, WorkOrder, WorkOrderEvent

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
M = timedelta(minutes=1)
PLAN = Staffing(aht_seconds=300.0, within_seconds=60.0, target=0.8)
STAFF = ("fc-ann", "fc-bo")


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(WorkOrder).values(merged_into_id=None))
        for model in (WorkOrderEvent, WorkOrder, HourlyCount):
            conn.execute(delete(model))
        conn.execute(delete(Staff).where(Staff.id.in_(STAFF)))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    _clear(engine)
    yield engine
    _clear(engine)
    engine.dispose()


def _order(oid: str, created: datetime, first: datetime | None, assignee: str | None = None) -> WorkOrder:
    return WorkOrder(id=oid, title="t", description="d", content_type="business", problem_type="complaint",
                     urgency="general", flow="complaint", step="investigate", status="in_progress",
                     status_category="open", created_at=created, updated_at=created, first_response_at=first,
                     assignee_id=assignee)


def _event(oid: str, seq: int, kind: str, actor: str, at: datetime, to: str | None = None) -> WorkOrderEvent:
    return WorkOrderEvent(work_order_id=oid, seq=seq, kind=kind, actor=actor, created_at=at,
                          data={"from": "in_progress", "to": to} if to else {})


def _load_orders(engine: Engine) -> None:
    start = NOW - timedelta(hours=8)
    with Session(engine) as s, s.begin():
        s.add_all([Staff(id=i, username=i, display_name=i.upper(), email=f"{i}@example.com", role="agent")
                   for i in STAFF])
        s.flush()
        s.add_all([
            _order("fr1", start, start + 10 * M, "fc-ann"),
            _order("fr2", start + 60 * M, start + 80 * M, "fc-ann"),
            _order("fr3", start + 120 * M, start + 160 * M, "fc-bo"),  # ann answered, then bo took it over
            _order("fr4", start + 30 * M, start + 35 * M, "fc-bo"),  # bo resolved it at once
            _order("fr5", start + 40 * M, None, "fc-bo"),  # not answered yet
            _order("fr6", start + 50 * M, start + 51 * M),  # answered by an API client
            _order("fr7", start - timedelta(days=2), start - timedelta(days=2) + M, "fc-ann"),  # before the period
        ])
        s.flush()
        s.add_all([
            _event("fr1", 1, "note", "staff:fc-ann", start + 5 * M),
            _event("fr1", 2, "reply", "staff:fc-ann", start + 10 * M),
            _event("fr2", 1, "reply", "staff:fc-ann", start + 80 * M),
            _event("fr3", 1, "reply", "staff:fc-ann", start + 160 * M),
            _event("fr3", 2, "reply", "staff:fc-bo", start + 200 * M),
            _event("fr4", 1, "note", "staff:fc-bo", start + 31 * M),
            _event("fr4", 2, "status_changed", "staff:fc-bo", start + 35 * M, to="resolved"),
            _event("fr6", 1, "reply", "api:crm", start + 51 * M),
            _event("fr7", 1, "reply", "staff:fc-ann", start - timedelta(days=2) + M),
        ])


def test_first_response_per_agent_comes_from_who_answered_first(engine: Engine) -> None:
    _load_orders(engine)
    start = NOW - timedelta(hours=8)
    with Session(engine) as s:
        answered = {o.opened_at: o.responder for o in answered_orders(s, start, NOW)}
        assert sorted(answered.values(), key=str) == [None, "fc-ann", "fc-ann", "fc-ann", "fc-bo"]
        figures = {a.staff.id: a for a in agent_figures(s, start, NOW)}
        ann, bo = figures["fc-ann"].first_response, figures["fc-bo"].first_response
        assert (ann.count, ann.median_minutes, ann.p90_minutes) == (3, 20.0, 36.0)  # 10, 20, 40 minutes
        assert (bo.count, bo.median_minutes) == (1, 5.0)
        # ann's gaps before each answer: 5 (note -> fr1), 70 and 80 (breaks, over 30): one measure; bo's:
        # 4 (note -> resolution), then the reply 165 minutes later (a break)
        handling = measured_handling_time(s, NOW)
        assert handling.contacts == 2 and handling.average_seconds == pytest.approx(4.5 * 60)


def _load_history(engine: Engine, weeks: int = 3) -> None:
    """`weeks` of whole hours before NOW's: chat busy in the day, web quiet, one topic; some handed to a
    person, half complaints."""
    facts: list[MessageFacts] = []
    first = NOW.replace(minute=0) - timedelta(weeks=weeks)
    for h in range(weeks * 168):
        at = first + timedelta(hours=h)
        local = at.astimezone(ZONE).hour
        busy = 8 if 9 <= local < 18 else 1
        for i in range(busy):
            counts = {"messages", "handed_off"} if i % 4 == 0 else {"messages"}
            if i % 2 == 0:
                counts.add("complaints")
            facts.append(MessageFacts(at + timedelta(minutes=i), {"channel": ("chat",), "topic": ("card_fee",)},
                                      frozenset(counts)))
        if h % 6 == 0:
            facts.append(MessageFacts(at, {"channel": ("web",)}, frozenset({"messages"})))
    with Session(engine) as s, s.begin():
        add_messages(s, facts)


def test_team_forecast_per_series_with_staffing_kept_in_the_queue_store(engine: Engine, tmp_path: Path) -> None:
    _load_history(engine)
    with Session(engine) as s:
        forecast = compute_team_forecast(s, now=NOW, zone=ZONE, plan=PLAN)
    assert forecast.complete and forecast.hour == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert [x.key for x in forecast.series] == ["all", "channel:chat", "channel:web", "topic:card_fee"]
    total = forecast.find("all")
    assert total is not None and total.method == "holt_winters" and total.history_hours == 3 * 168
    assert [p.day for p in total.messages][:2] == [date(2026, 11, 30), date(2026, 12, 1)]
    assert len(total.messages) == DAYS + 1  # the rest of today (from 17:00 local), then 14 whole days
    whole = total.messages[1]
    assert whole.lower <= whole.expected <= whole.upper
    assert 80 < whole.expected < 110  # 9 busy hours x 8 + 15 quiet ones + 4 from the web channel: 91
    chat = forecast.find("channel:chat")
    assert chat is not None and 0.4 < chat.complaints[1].expected / chat.messages[1].expected < 0.65
    assert forecast.handled_share == pytest.approx(33 / 91, abs=0.01)  # a day: 9 x 2 + 15 x 1 of 91
    assert not forecast.aht_measured and forecast.aht_seconds == 300.0  # no log: the configured time
    assert len(forecast.staffing) == 7 + DAYS * 24  # 17:00-24:00 local, then 14 days
    busy = next(h for h in forecast.staffing if h.start.astimezone(ZONE).hour == 11)
    assert busy.contacts == pytest.approx(8 * 33 / 91, abs=0.8)
    assert busy.staff == agents_needed(busy.contacts, 300.0, target=0.8, within_seconds=60.0) >= 1

    store = QueueStore(SqliteHuey("fc-test", filename=str(tmp_path / "tasks.db")))
    assert store.get() is None
    store.put(forecast)
    assert store.get() == forecast == TeamForecast.from_json(forecast.to_json())
    with Session(engine) as s:  # this hour's forecast is stored: the page shows it, asks nothing
        assert forecast_for_page(s, store, now=NOW + 20 * M, zone=ZONE, plan=PLAN, budget_seconds=1) == (
            forecast, False)
        # an hour later it is shown still, and the worker is asked for a fresh one
        assert forecast_for_page(s, store, now=NOW + 40 * M, zone=ZONE, plan=PLAN, budget_seconds=1) == (
            forecast, True)


def test_page_without_a_stored_forecast_computes_a_quick_one_within_its_budget(engine: Engine,
                                                                               tmp_path: Path) -> None:
    _load_history(engine, weeks=2)
    store = QueueStore(SqliteHuey("fc-quick", filename=str(tmp_path / "tasks.db")))
    clock = iter([0.0, 5.0, 10.0, 15.0, 20.0])
    with Session(engine) as s:
        limited = compute_team_forecast(s, now=NOW, zone=ZONE, plan=PLAN, budget_seconds=1.0,
                                        timer=lambda: next(clock))
        assert not limited.complete and [x.key for x in limited.series] == ["all"]
        quick, refresh = forecast_for_page(s, store, now=NOW, zone=ZONE, plan=PLAN, budget_seconds=10.0)
    assert refresh and {x.method for x in quick.series} == {"seasonal_naive"}
    assert store.get() is None  # the quick one is never stored: the worker's replaces it


def test_the_store_on_redis_is_shared_by_every_process(redis_url: str) -> None:
    """Several processes (API, workers) read the one forecast the worker wrote: on Redis when configured."""
    from huey import RedisHuey

    forecast = TeamForecast(NOW, NOW, (), (), 240.0, False, 0, 1.0, 60.0, 0.8)
    writer, reader = (QueueStore(RedisHuey("fc-redis", url=redis_url), key="test:team_forecast") for _ in range(2))
    writer.huey.storage.pop_data(writer.key)
    try:
        assert reader.get() is None
        writer.put(forecast)
        assert reader.get() == forecast
        writer.huey.storage.put_data(writer.key, b"garbled")
        assert reader.get() is None  # another version's or a broken value: computed again, no error
    finally:
        writer.huey.storage.pop_data(writer.key)
