"""The dashboards through the real app (TestClient; SQLite and PostgreSQL): the cockpit, trends, complaint and
team pages render for a supervisor with the figures intake produced, an agent gets 403 and a visitor the
sign-in page, the usual for this hour is the mean of the previous four same weekdays, and every table's CSV
and Excel export has the page's rows (BOM, formula-like text escaped); bad parameters are a 400 with the
reason on the page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from caredesk.analytics.rollups import MessageFacts, add_messages
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Staff, WorkOrder
from tests.support.web_session import HX, submit_sign_in

MESSAGES = [  # (text, channel)
    ("信用卡年费被乱扣了，我要投诉，请给我一个说法", "chat"),
    ("How do I reset my online banking password?", "web"),
    ("转账一直显示处理中，钱到底去哪了？我要向银保监会投诉！", "chat"),
    ("你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法", "wechat"),
]
EN = {"Accept-Language": "en"}


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def _receive_all(rt: Runtime) -> None:
    for i, (text, channel) in enumerate(MESSAGES):
        do_receive_message(rt, IncomingMessage(text, channel, f"dash-{i}"))


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), "CSV without a BOM: Excel would misread Chinese"
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:])))


def _xlsx(body: bytes) -> list[list[object]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_dashboards_for_supervisors_only(web: TestClient, demo_runtime: Runtime) -> None:
    assert web.get("/analytics").status_code == 303  # signed out: to the sign-in page
    submit_sign_in(web, "agent")
    assert web.get("/analytics", headers=EN).status_code == 403
    assert web.get("/analytics/team?format=csv&table=agents").status_code == 403  # no export either
    assert 'id="nav-analytics"' not in web.get("/workbench").text


def test_cockpit_shows_today_and_exports_its_tables(web: TestClient, demo_runtime: Runtime) -> None:
    _receive_all(demo_runtime)
    submit_sign_in(web, "lead")
    assert 'id="nav-analytics"' in web.get("/workbench").text
    page = web.get("/analytics", headers=EN)
    assert page.status_code == 200
    text = page.text
    assert "/static/echarts.min.js" in text and "/static/analytics.js" in text
    assert 'id="chart-hours"' in text and 'id="chart-channels"' in text and "data-chart='" in text
    assert 'hx-trigger="every 30s, refresh"' in text
    fragment = web.get("/analytics", headers=HX | EN)
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="cockpit-updated"' in fragment.text

    channels = _csv(web.get("/analytics?format=csv&table=channels", headers=EN).content)
    assert channels[0] == ["Channel", "Messages", "Share"]
    assert [(row[0], int(row[1])) for row in channels[1:]] == [("Chat", 2), ("web", 1), ("WeChat", 1)]
    assert sum(float(row[2]) for row in channels[1:]) == pytest.approx(1.0)
    figures = _csv(web.get("/analytics?format=csv&table=figures", headers=EN).content)
    assert ["Messages today", "4"] in figures
    workbook = web.get("/analytics?format=xlsx&table=channels", headers=EN)
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="cockpit-channels.xlsx"' in workbook.headers["content-disposition"]
    rows = _xlsx(workbook.content)
    assert rows[0] == ["Channel", "Messages", "Share"]
    assert [r[:2] for r in rows[1:]] == [[r[0], int(r[1])] for r in channels[1:]]  # the same rows as the CSV
    # the hours table: 24 local hours; today's total is the messages received
    hours = _csv(web.get("/analytics?format=csv&table=hours", headers=EN).content)
    assert len(hours) == 25 and sum(int(r[1]) for r in hours[1:] if r[1]) == 4
    bad = web.get("/analytics?format=pdf&table=channels", headers=EN)
    assert bad.status_code == 400 and "format is csv or xlsx" in bad.text
    assert web.get("/analytics?format=csv&table=nope", headers=EN).status_code == 400


def test_usual_is_the_mean_of_the_previous_four_same_weekdays(web: TestClient, demo_runtime: Runtime) -> None:
    zone = demo_runtime.settings.display_timezone
    now = datetime.now(UTC)
    hour = now.astimezone(zone).replace(minute=5, second=0, microsecond=0)
    with demo_runtime.uow() as uow:  # 4, 8, 0 and 0 messages in this hour 1-4 weeks ago; 50 five weeks ago
        facts = [MessageFacts(hour - timedelta(days=7 * week)) for week, n in ((1, 4), (2, 8), (5, 50))
                 for _ in range(n)]
        facts += [MessageFacts(hour - timedelta(days=1))] * 30  # yesterday is another weekday
        add_messages(uow.session, facts)
        uow.commit()
    submit_sign_in(web, "lead")
    hours = _csv(web.get("/analytics?format=csv&table=hours", headers=EN).content)
    by_hour = {row[0]: row for row in hours[1:]}
    assert float(by_hour[f"{hour.hour:02d}:00"][2]) == pytest.approx(3.0)  # (4 + 8 + 0 + 0) / 4
    assert all(float(row[2]) == 0 for key, row in by_hour.items() if key != f"{hour.hour:02d}:00")


def test_period_pages_and_their_exports(web: TestClient, demo_runtime: Runtime) -> None:
    _receive_all(demo_runtime)
    zone = demo_runtime.settings.display_timezone
    today = datetime.now(UTC).astimezone(zone).date()
    with demo_runtime.session_factory() as s:  # an agent with an open order, named like a spreadsheet formula
        order = s.scalars(select(WorkOrder).order_by(WorkOrder.created_at)).first()
        agent = s.scalar(select(Staff).where(Staff.username == "agent"))
        assert order is not None and agent is not None
        order.assignee_id, agent.display_name = agent.id, "=HYPERLINK(\"http://x\")"
        s.commit()
    submit_sign_in(web, "lead")
    period = {"from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()}

    trends = web.get("/analytics/trends", params=period | {"dimension": "problem_type"}, headers=EN)
    assert trends.status_code == 200 and 'id="chart-series"' in trends.text and 'id="table-breakdown"' in trends.text
    series = _csv(web.get("/analytics/trends", params=period | {"format": "csv", "table": "series"}).content)
    assert [r[0] for r in series[1:]] == [(today - timedelta(days=d)).isoformat() for d in (2, 1, 0)]
    assert [int(r[1]) for r in series[1:]] == [0, 0, 4]
    hourly = _csv(web.get("/analytics/trends", params=period | {"granularity": "hour", "format": "csv",
                                                                 "table": "series"}).content)
    assert len(hourly) == 1 + 72 and sum(int(r[1]) for r in hourly[1:]) == 4
    breakdown = _xlsx(web.get("/analytics/trends", params=period | {"dimension": "problem_type", "format": "xlsx",
                                                                      "table": "breakdown"}, headers=EN).content)
    assert sum(int(str(r[1])) for r in breakdown[1:]) == 4

    complaints = web.get("/analytics/complaints", params=period, headers=EN)
    assert complaints.status_code == 200 and 'id="fig-regulator"' in complaints.text
    volume = _csv(web.get("/analytics/complaints", params=period | {"format": "csv", "table": "volume"}).content)
    complained = sum(int(r[1]) for r in volume[1:])
    assert complained >= 2 and sum(int(r[2]) for r in volume[1:]) >= 1  # the regulator threat
    departments = _csv(web.get("/analytics/complaints", params=period | {"format": "csv", "table": "departments"},
                               headers=EN).content)
    with demo_runtime.session_factory() as s:
        opened = len(s.scalars(select(WorkOrder.id).where(WorkOrder.problem_type == "complaint")).all())
    assert sum(int(r[1]) for r in departments[1:]) == opened

    team = web.get("/analytics/team", params=period, headers=EN)
    assert team.status_code == 200 and 'id="chart-agents"' in team.text
    agents = _csv(web.get("/analytics/team", params=period | {"format": "csv", "table": "agents"}).content)
    row = next(r for r in agents[1:] if "HYPERLINK" in r[0])
    assert row[0] == "'=HYPERLINK(\"http://x\")" and int(row[1]) >= 1  # escaped against CSV injection
    sheet = _xlsx(web.get("/analytics/team", params=period | {"format": "xlsx", "table": "agents"}).content)
    assert any(r[0] == "=HYPERLINK(\"http://x\")" for r in sheet[1:])  # XLSX: kept as text, not a formula
    book = load_workbook(io.BytesIO(web.get("/analytics/team", params=period | {"format": "xlsx",
                                                                                  "table": "agents"}).content))
    assert all(c.data_type == "s" for c in book.worksheets[0]["A"][1:])


@pytest.mark.parametrize(("params", "says"), [
    ({"from": "yesterday", "to": "2026-12-01"}, "not an ISO 8601"),
    ({"from": "2026-12-05", "to": "2026-12-01"}, "to must be after from"),
    ({"from": "2026-10-01", "to": "2026-12-01", "granularity": "hour"}, "at most 31 days"),
    ({"from": "2026-12-01", "to": "2026-12-02", "dimension": "colour"}, "dimension is one of"),
])
def test_bad_periods_are_a_400_with_the_reason(web: TestClient, params: dict[str, str], says: str) -> None:
    submit_sign_in(web, "lead")
    page = web.get("/analytics/trends", params=params, headers=EN)
    assert page.status_code == 400 and 'id="dash-error"' in page.text and says in page.text
    exported = web.get("/analytics/trends", params=params | {"format": "csv", "table": "series"}, headers=EN)
    assert exported.status_code == 400 and "text/html" in exported.headers["content-type"]
