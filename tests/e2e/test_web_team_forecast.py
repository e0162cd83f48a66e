"""The team page's forecast and staffing through the real app (TestClient; SQLite and PostgreSQL), over three
weeks of roll-up history: the first view has no stored forecast, shows a quick one (seasonal naive) and asks
the worker (the test queue runs the task at once), the next shows the worker's Holt-Winters forecast; the
chosen series, the band chart and the staffing chart and tables (CSV, Excel) are there in English and
Chinese; the agents' table has each agent's first-response time from the replies they gave."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from caredesk.analytics.rollups import MessageFacts, add_messages, hour_of
from caredesk.analytics.team_forecast import QueueStore
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Staff, WorkOrder
from caredesk.workorders.replies import do_reply
from tests.support.web_session import submit_sign_in

EN = {"Accept-Language": "en"}


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def _history(rt: Runtime, weeks: int = 3) -> None:
    now = rt.clock.now()
    first = hour_of(now) - timedelta(weeks=weeks)
    facts = []
    for h in range(weeks * 168):
        at = first + timedelta(hours=h)
        busy = 6 if 1 <= at.hour < 10 else 1  # 09:00-18:00 in Shanghai
        facts += [MessageFacts(at, {"channel": ("chat",), "topic": ("card_fee",)},
                               frozenset({"messages", "handed_off", "complaints"} if i % 3 == 0 else {"messages"}))
                  for i in range(busy)]
    with rt.session_factory() as s, s.begin():
        add_messages(s, facts)


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8").removeprefix("\ufeff"))))


def test_team_page_forecast_staffing_and_exports(web: TestClient, demo_runtime: Runtime) -> None:
    # frozen: an hour turning between writing the history and forecasting would add an empty last hour
    demo_runtime.clock = FrozenClock(datetime.now(UTC))
    _history(demo_runtime)
    store = QueueStore(demo_runtime.queue.huey)
    assert store.get() is None
    submit_sign_in(web, "lead")
    first = web.get("/analytics/team", headers=EN)
    assert first.status_code == 200
    assert "Model: seasonal_naive" in first.text and "being computed in the background" in first.text
    stored = store.get()  # the page asked the worker; the test queue ran it at once
    assert stored is not None and stored.complete and stored.find("all") is not None
    assert stored.find("all").method == "holt_winters"  # type: ignore[union-attr]

    page = web.get("/analytics/team", headers=EN)
    text = page.text
    assert "Model: holt_winters" in text and "being computed" not in text
    for element in ('id="chart-forecast"', 'id="chart-staffing"', 'id="table-forecast"', 'id="table-staffing"',
                    'id="fig-fc_peak_staff"', 'id="fig-fc_aht"', 'id="forecast-series"'):
        assert element in text, element
    assert '"kind": "band"' in text and '"lower": [' in text
    assert '<option value="channel:chat"' in text and '<option value="topic:card_fee"' in text

    chat = web.get("/analytics/team", params={"series": "channel:chat"}, headers=EN)
    assert "Forecast, next 14 days: Channel: Chat" in chat.text
    rows = _csv(web.get("/analytics/team", params={"series": "channel:chat", "format": "csv",
                                                   "table": "forecast"}, headers=EN).content)
    assert rows[0] == ["Day", "Messages expected", "Lower", "Upper", "Complaints expected", "Lower", "Upper"]
    assert len(rows) == 1 + 15 and rows[1][0].endswith("(rest of today)")  # then 14 whole days
    whole = [float(x) for x in rows[2][1:]]
    assert whole[1] <= whole[0] <= whole[2] and 40 < whole[0] < 80  # 9 x 6 + 15 x 1 = 69 a day
    assert whole[3] == pytest.approx(33, rel=0.3)  # complaints: 9 x 2 + 15 x 1 a day

    staffing = _csv(web.get("/analytics/team", params={"format": "csv", "table": "staffing"}, headers=EN).content)
    assert staffing[0][:3] == ["Day", "00", "01"] and staffing[0][-1] == "Peak staff needed"
    assert len(staffing) == 1 + 15 and len(staffing[1]) == 26 and "" not in staffing[-1]  # the last day whole
    day = staffing[2]
    assert int(day[11]) >= 1 and int(day[11]) >= int(day[3])  # 11:00 (busy) needs at least 03:00's staff
    assert int(day[-1]) == max(int(x) for x in day[1:25])
    book = load_workbook(io.BytesIO(web.get("/analytics/team", params={"format": "xlsx", "table": "staffing"}
                                            ).content), read_only=True)
    sheet = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert isinstance(sheet[2][11], int)

    zh = web.get("/analytics/team?lang=zh")
    assert "未来 14 天每小时所需人力" in zh.text and "预计消息量" in zh.text and "所需人力峰值" in zh.text


def test_agents_table_has_each_agents_first_response_time(web: TestClient, demo_runtime: Runtime) -> None:
    rt = demo_runtime
    do_receive_message(rt, IncomingMessage("你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法",
                                           "wechat", "team-fr-1"))
    with rt.session_factory() as s:
        order = s.scalars(select(WorkOrder).order_by(WorkOrder.created_at.desc())).first()
        agent = s.scalar(select(Staff).where(Staff.username == "li.wei"))
        assert order is not None and agent is not None
        order_id, agent_id, opened = order.id, agent.id, order.created_at
    do_reply(rt, order_id, text="您好，我们已收到，正在处理。", actor=f"staff:{agent_id}",
             now=opened + timedelta(minutes=12))
    submit_sign_in(web, "lead")
    agents = _csv(web.get("/analytics/team", params={"format": "csv", "table": "agents"}, headers=EN).content)
    header = agents[0]
    assert header[5:8] == ["First responses", "First response, median (min)", "First response, p90 (min)"]
    row = next(r for r in agents[1:] if r[0] == "Li Wei" or r[0] == "李伟")
    assert row[5:8] == ["1", "12.0", "12.0"]
