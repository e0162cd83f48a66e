"""`GET /api/v1/analytics/forecast` and `caredesk forecast` on a roll-up filled with three weeks of hourly counts:
points with intervals in the centre's time zone, staff per hour for the totals, stable 400 codes, the cache,
and statsmodels kept out of a process that never forecasts."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from caredesk.analytics.forecast import forecast_volume
from caredesk.analytics.forecast_eval import generated_series
from caredesk.analytics.rollups import MessageFacts, add_messages
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from tests.conftest import create_key
from tests.support.cli import caredesk, cli_env

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def _fill(rt: Runtime) -> None:
    counts = generated_series(2.0, 3, seed=11)
    start = NOW.replace(minute=0) - timedelta(hours=len(counts) - 1)
    facts = [MessageFacts(start + timedelta(hours=h), {"topic": ("card_fraud",), "channel": ("web",)},
                          frozenset({"complaints"}) if i % 3 == 0 else frozenset())
             for h, n in enumerate(counts) for i in range(int(n))]
    with rt.uow() as uow:
        add_messages(uow.session, facts)
        uow.commit()


@pytest.fixture
def api(runtime: Runtime) -> TestClient:
    runtime.clock = FrozenClock(NOW)
    _fill(runtime)
    client = TestClient(create_app(runtime, start_consumer=False), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {create_key(runtime, 'team_lead')}"
    return client


def test_forecast_for_a_topic_and_the_totals(api: TestClient) -> None:
    r = api.get("/api/v1/analytics/forecast", params={"dimension": "topic", "value": "card_fraud", "days": 14})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "holt_winters" and 3 * 168 - 24 < body["history_hours"] <= 3 * 168  # from the first count
    points = body["points"]
    assert len(points) == 14 * 24 and points[0]["time"] == "2026-11-30T18:00:00+08:00"  # the next hour, local
    assert all(0 <= p["lower"] <= p["expected"] <= p["upper"] for p in points)
    assert "staff_needed" not in points[0]
    mean = sum(p["expected"] for p in points) / len(points)
    assert 1.0 < mean < 3.0  # around the generated level (2 an hour, quieter nights and weekends)

    totals = api.get("/api/v1/analytics/forecast", params={"days": 2, "granularity": "day"}).json()
    assert [p["time"] for p in totals["points"]] == ["2026-11-30T00:00:00+08:00", "2026-12-01T00:00:00+08:00",
                                                     "2026-12-02T00:00:00+08:00"][:len(totals["points"])]
    assert all(p["staff_needed"] >= 1 for p in totals["points"]) and totals["staffing"]["service_level"] == 0.8
    hourly = api.get("/api/v1/analytics/forecast", params={"days": 1}).json()
    assert all(isinstance(p["staff_needed"], int) for p in hourly["points"])
    complaints = api.get("/api/v1/analytics/forecast",
                         params={"dimension": "channel", "value": "web", "counter": "complaints", "days": 1}).json()
    assert sum(p["expected"] for p in complaints["points"]) < sum(p["expected"] for p in hourly["points"])
    again = api.get("/api/v1/analytics/forecast", params={"dimension": "topic", "value": "card_fraud", "days": 14})
    assert again.json() == body  # cached within the hour


@pytest.mark.parametrize("params", [{"days": 0}, {"days": 15}, {"dimension": "bogus"},
                                    {"dimension": "topic"}, {"counter": "urgentish"}, {"granularity": "week"},
                                    {"days": "x"}])
def test_forecast_refuses_bad_input_with_a_stable_code(api: TestClient, params: dict[str, object]) -> None:
    r = api.get("/api/v1/analytics/forecast", params=params)
    assert r.status_code == 400 and r.json()["code"] in ("invalid_input", "validation_error")


def test_forecast_is_for_supervisors(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime, start_consumer=False))
    client.headers["Authorization"] = f"Bearer {create_key(runtime, 'agent')}"
    assert client.get("/api/v1/analytics/forecast").status_code == 403


def test_statsmodels_is_not_loaded_until_a_forecast_is_asked() -> None:
    code = ("import sys; import caredesk.http.app, caredesk.cli.main, caredesk.analytics.forecast; "
            "sys.exit(1 if 'statsmodels' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the same command on both; the API test covers PG
def test_cli_forecast_prints_and_refuses(runtime: Runtime, tmp_path: object) -> None:
    _fill(runtime)
    env = cli_env(database_url=runtime.settings.database_url, environment="test",
                  var_dir=str(runtime.settings.var_dir), tasks_mode="immediate")
    bad = caredesk(env, "forecast", "--days", "30")
    assert bad.returncode == 2 and "days must be between 1 and 14" in bad.stderr
    ok = caredesk(env, "forecast", "--dimension", "topic", "--value", "card_fraud", "--days", "1", "--daily")
    assert ok.returncode == 0, ok.stderr
    assert "topic=card_fraud messages" in ok.stdout and "[" in ok.stdout.splitlines()[1]


def test_the_unfinished_hour_is_no_history(runtime: Runtime) -> None:
    """Messages of the current hour, still counting, change nothing: the points start at the next hour from
    the whole hours before this one."""
    _fill(runtime)

    def expected() -> list[float]:
        with runtime.session_factory() as s:
            forecast = forecast_volume(s, dimension="topic", value="card_fraud", counter="messages", now=NOW, days=1,
                                       granularity="hour", zone=UTC)
        assert forecast.points[0].time == datetime(2026, 11, 30, 10, tzinfo=UTC)
        return [p.expected for p in forecast.points]

    before = expected()
    with runtime.uow() as uow:
        add_messages(uow.session, [MessageFacts(NOW, {"topic": ("card_fraud",)}, frozenset())] * 40)
        uow.commit()
    assert expected() == before
