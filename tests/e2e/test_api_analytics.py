"""The overview API on the real app (SQLite and PostgreSQL): intake keeps the roll-up current, the figures
agree with what intake decided, partial hours are exact, a rebuild (CLI, a real subprocess) gives the same
figures back, supervisors only, and a bad or reversed period is a 4xx with a stable code."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import HourlyCount, SatisfactionSurvey
from tests.conftest import create_key
from tests.support.cli import caredesk, cli_env

MESSAGES = [  # (text, channel)
    ("信用卡年费被乱扣了，我要投诉，请给我一个说法", "chat"),
    ("How do I reset my online banking password?", "web"),
    ("你好", "wechat"),
    ("转账一直显示处理中，钱到底去哪了？我要向银保监会投诉！", "chat"),
]


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _post_all(api: Any) -> list[dict[str, Any]]:
    out = []
    for i, (text, channel) in enumerate(MESSAGES):
        posted = api.post("/api/v1/messages", json={"text": text, "channel": channel, "customer_ref": f"an-{i}"})
        assert posted.status_code == 201, posted.text
        out.append(posted.json())
    return out


def _overview(api: Any, start: str, end: str) -> dict[str, Any]:
    got = api.get("/api/v1/analytics/overview", params={"from": start, "to": end})
    assert got.status_code == 200, got.text
    return dict(got.json())


def test_overview_counts_what_intake_decided(api: Any, demo_runtime: Runtime) -> None:
    before = datetime.now(UTC)
    posted = _post_all(api)
    after = datetime.now(UTC)
    kinds = [p["decision"]["kind"] for p in posted]
    # a period that starts and ends mid-hour: the partial hours are counted exactly
    body = _overview(api, _iso(before - timedelta(minutes=1)), _iso(after + timedelta(minutes=1)))
    assert body["messages"] == len(MESSAGES)
    assert body["by"]["channel"] == {"chat": 2, "web": 1, "wechat": 1}
    assert sum(body["by"]["content_type"].values()) == len(MESSAGES)
    assert sum(body["by"]["problem_type"].values()) == len(MESSAGES)
    topics = Counter(p["triage"]["topic"] for p in posted if p["triage"]["topic"])
    assert topics and body["by"]["topic"] == dict(topics)  # as the triage said (a greeting has none)
    assert body["by"]["branch"] == {}  # no home branch given
    assert body["handoff_rate"] == pytest.approx(sum(k in ("work_order", "handoff") for k in kinds) / 4)
    answered = sum(p["decision"]["knowledge_entry_id"] is not None for p in posted)
    assert body["auto_response_rate"] == pytest.approx(answered / 4)
    # the bot could not answer: the out-of-scope greeting and the complaint no entry matched well enough
    failed = sum(p["decision"]["out_of_scope"] or (p["decision"]["kind"] == "work_order"
                                                    and p["decision"]["score"] is not None) for p in posted)
    assert failed == 2 and body["response_failure_rate"] == pytest.approx(failed / 4)
    assert body["emergencies"] == kinds.count("emergency") == 1
    assert body["backlog"] == sum(p["decision"]["work_order_id"] is not None for p in posted)
    # nothing resolved or rated yet: no data, not zero
    assert body["sla_met_rate"] is None and body["first_contact_resolution_rate"] is None
    assert body["csat_average"] is None
    # a period just before the messages has none of them
    empty = _overview(api, _iso(before - timedelta(days=1)), _iso(before - timedelta(seconds=1)))
    assert empty["messages"] == 0 and empty["auto_response_rate"] is None and empty["by"]["channel"] == {}
    # whole hours come from the roll-up: a day around the messages says the same
    day = _overview(api, _iso(before - timedelta(hours=12)), _iso(after + timedelta(hours=12)))
    assert day["messages"] == 4 and day["by"] == body["by"]


def test_a_time_without_offset_is_read_in_the_centres_zone(api: Any, demo_runtime: Runtime) -> None:
    _post_all(api)
    zone = demo_runtime.settings.display_timezone
    now = datetime.now(UTC)
    local = now.astimezone(zone).replace(tzinfo=None)
    naive = _overview(api, (local - timedelta(hours=2)).isoformat(), (local + timedelta(hours=2)).isoformat())
    aware = _overview(api, _iso(now - timedelta(hours=2)), _iso(now + timedelta(hours=2)))
    assert naive["messages"] == aware["messages"] == 4
    assert naive["from"] == aware["from"]
    # the same wall-clock text read as UTC would be 8 hours off (Asia/Shanghai) and miss them all
    utc_text = _overview(api, _iso((local - timedelta(hours=2)).replace(tzinfo=UTC)),
                         _iso((local + timedelta(hours=2)).replace(tzinfo=UTC)))
    assert utc_text["messages"] == 0


def test_resolved_order_and_survey_figures(api: Any, demo_runtime: Runtime) -> None:
    posted = api.post("/api/v1/messages", json={"text": MESSAGES[0][0], "channel": "chat", "customer_ref": "an-x"})
    oid = posted.json()["decision"]["work_order_id"]
    assert oid
    assert api.post(f"/api/v1/work-orders/{oid}/resolve", json={"resolution": "年费已退回。"}).status_code == 200
    assert api.post(f"/api/v1/work-orders/{oid}/close").status_code == 200
    with demo_runtime.session_factory() as s:
        token = s.scalar(select(SatisfactionSurvey.token).where(SatisfactionSurvey.work_order_id == oid))
    assert token
    assert api.post(f"/api/v1/surveys/{token}", json={"rating": 4, "comment": "ok"}).status_code in (200, 201)
    now = datetime.now(UTC)
    body = _overview(api, _iso(now - timedelta(hours=1)), _iso(now + timedelta(hours=1)))
    assert body["first_contact_resolution_rate"] == 1.0 and body["reopen_rate"] == 0.0
    assert body["sla_met_rate"] == 1.0  # the complaint policy applies; resolved at once: not breached
    assert body["csat_average"] == 4.0 and body["csat_satisfied_share"] == 1.0
    assert body["backlog"] == 0


def test_bad_periods_are_refused_with_a_code(api: Any) -> None:
    url = "/api/v1/analytics/overview"
    missing = api.get(url, params={"from": "2026-12-01"})
    assert missing.status_code == 422
    bad = api.get(url, params={"from": "yesterday", "to": "2026-12-01"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
    assert bad.json()["details"]["field"] == "from"
    reversed_ = api.get(url, params={"from": "2026-12-02", "to": "2026-12-01"})
    assert reversed_.status_code == 400 and reversed_.json()["details"]["field"] == "to"
    same = api.get(url, params={"from": "2026-12-01T10:00:00+08:00", "to": "2026-12-01T02:00:00Z"})
    assert same.status_code == 400  # the same instant: an empty period


def test_only_supervisors_read_it_and_the_schema_says_what_comes_back(demo_runtime: Runtime) -> None:
    params = {"from": "2026-12-01", "to": "2026-12-02"}
    with TestClient(create_app(demo_runtime, start_consumer=False)) as client:
        for role, status in (("agent", 403), ("auditor", 403), ("team_lead", 200), ("complaint_manager", 200)):
            got = client.get("/api/v1/analytics/overview", params=params,
                             headers={"Authorization": f"Bearer {create_key(demo_runtime, role)}"})
            assert got.status_code == status, (role, got.text)
        assert client.get("/api/v1/analytics/overview", params=params).status_code == 401
        schema = client.get("/openapi.json").json()
        props = schema["components"]["schemas"]["OverviewOut"]["properties"]
    assert {"messages", "auto_response_rate", "response_failure_rate", "first_contact_resolution_rate",
            "sla_met_rate", "csat_average", "backlog", "by", "from", "to"} <= set(props)


def _cli(db_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(database_url=db_url, var_dir=str(home / "var"), environment="test",
                  secret_key="cli-test-secret-" + "y" * 32)
    return caredesk(env, "analytics", "rebuild", *args)


def test_rebuild_gives_the_same_figures_back(api: Any, demo_runtime: Runtime, tmp_path: Path) -> None:
    _post_all(api)
    now = datetime.now(UTC)
    period = (_iso(now - timedelta(hours=3)), _iso(now + timedelta(hours=3)))
    live = _overview(api, *period)
    url = demo_runtime.settings.database_url
    again = _cli(url, tmp_path, "--from", period[0], "--to", period[1])  # over the live roll-up: recounted,
    assert again.returncode == 0, again.stderr  # not doubled
    assert _overview(api, *period) == live
    with demo_runtime.engine.begin() as conn:
        rows = conn.scalar(select(func.count()).select_from(HourlyCount))
        conn.execute(delete(HourlyCount))
    assert rows
    assert _overview(api, *period)["messages"] == 0  # whole hours: the roll-up, now empty
    done = _cli(url, tmp_path)  # no period: the whole history
    assert done.returncode == 0, done.stderr
    assert "4 messages" in done.stdout
    assert _overview(api, *period) == live
    with demo_runtime.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(HourlyCount)) == rows
    refused = _cli(url, tmp_path, "--from", period[1], "--to", period[0])
    assert refused.returncode == 2 and refused.stderr.startswith("error:"), refused.stderr


def test_a_partial_hour_longer_than_half_an_hour_is_exact_too(api: Any, demo_runtime: Runtime) -> None:
    """Such a piece is read as its hour in the roll-up less the messages outside it: still exact."""
    from caredesk.analytics.rollups import hour_of
    from caredesk.storage.orm import Message

    _post_all(api)
    with demo_runtime.session_factory() as s:
        times = sorted(s.scalars(select(Message.created_at).where(Message.direction == "in")))
    assert len(times) == 4
    hour = hour_of(times[1])
    if times[1] - hour > timedelta(minutes=30):  # late in the hour: from just after its start to the third
        lo, hi = hour + timedelta(microseconds=1), times[2]
    else:  # early in the hour: from the second to just before its end
        lo, hi = times[1], hour + timedelta(hours=1, microseconds=-1)
    assert hi - lo > timedelta(minutes=30)
    expected = sum(lo <= t < hi for t in times)
    assert 1 <= expected <= 3
    assert _overview(api, _iso(lo), _iso(hi))["messages"] == expected
    assert _overview(api, _iso(lo), _iso(hi + timedelta(hours=1)))["messages"] == sum(lo <= t for t in times)
