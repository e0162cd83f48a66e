"""The cockpit in a real browser (Chromium through Playwright, real uvicorn, demo runtime, SQLite): with
messages received through the intake, ECharts (vendored) draws the hour, channel and content-type charts under
the app's Content-Security-Policy with the series the server computed; the live refresh swaps the partial and
redraws with a message that arrived since; the Chinese page has Chinese labels in the page and the charts; the
trends, complaint and team pages draw theirs; the team page's forecast draws its band (a line, and the interval
as a shaded stack) and the staffing chart, and follows the chosen series."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from caredesk.intake.actions import IncomingMessage, do_receive_message
from tests.e2e.browsing import shot
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

MESSAGES = [("信用卡年费被乱扣了，我要投诉，请给我一个说法", "chat"),
            ("How do I reset my online banking password?", "web"),
            ("转账一直显示处理中，钱到底去哪了？", "chat")]
CHART = "(id) => { const c = echarts.getInstanceByDom(document.getElementById(id)); return c && c.getOption(); }"


def _option(page: Any, chart_id: str) -> dict[str, Any]:
    option = page.evaluate(CHART, chart_id)
    assert option, f"no ECharts instance on #{chart_id}"
    return dict(option)


def test_browser_cockpit_draws_charts_refreshes_and_speaks_chinese(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    for i, (text, channel) in enumerate(MESSAGES):
        do_receive_message(rt, IncomingMessage(text, channel, f"cockpit-{i}"))
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{page.url} {msg.location['url']}: {msg.text[:160]}"))
    sign_in_page(page, live_server.url, "lead")
    page.click("#nav-analytics")
    expect(page).to_have_url(f"{live_server.url}/analytics")
    expect(page.locator("#fig-messages .value")).to_have_text("3")
    hours = page.locator("#chart-hours")
    expect(hours).to_have_attribute("data-drawn", "1")
    expect(hours.locator("canvas").first).to_be_visible()
    box = hours.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
    option = _option(page, "chart-hours")
    today, usual = option["series"]
    assert (today["name"], usual["name"]) == ("Today", "Usual")
    assert sum(v for v in today["data"] if v is not None) == 3  # the three messages, in this hour
    assert usual["data"] == [0] * 24  # no history: the usual is 0 every hour
    channels = _option(page, "chart-channels")
    assert dict(zip(channels["xAxis"][0]["data"], channels["series"][0]["data"], strict=True)) == {"Chat": 2,
                                                                                                   "web": 1}
    assert _option(page, "chart-content_types")["series"][0]["data"]
    shot(page, "cockpit")

    # the refresh: a message arrives; the partial is swapped (not the page) and the charts redrawn
    page.evaluate("window.__sameDocument = 'yes'")
    before = page.locator("#cockpit-updated").get_attribute("data-generated")
    do_receive_message(rt, IncomingMessage("我的信用卡被盗刷了，快帮我冻结", "wechat", "cockpit-9"))
    page.evaluate("htmx.trigger('#cockpit', 'refresh')")
    expect(page.locator("#fig-messages .value")).to_have_text("4")
    assert page.locator("#cockpit-updated").get_attribute("data-generated") != before
    assert page.evaluate("window.__sameDocument") == "yes"
    expect(page.locator("#chart-channels")).to_have_attribute("data-drawn", "1")
    refreshed = _option(page, "chart-channels")
    assert dict(zip(refreshed["xAxis"][0]["data"], refreshed["series"][0]["data"], strict=True)) == {
        "Chat": 2, "web": 1, "WeChat": 1}
    assert page.locator("#cockpit").get_attribute("hx-trigger") == "every 30s, refresh"

    # Chinese: the page and the charts' own labels
    page.goto(f"{live_server.url}/analytics?lang=zh")
    expect(page.locator("h1")).to_have_text("监控驾驶舱")
    expect(page.locator("#chart-hours")).to_have_attribute("data-drawn", "1")
    zh = _option(page, "chart-hours")
    assert [s["name"] for s in zh["series"]] == ["今日", "常态"]
    assert "微信" in str(_option(page, "chart-channels")["xAxis"][0]["data"])
    expect(page.locator("#table-figures")).to_contain_text("自动应答率")
    shot(page, "cockpit-zh")

    # the period pages draw theirs too: today's four messages in the last point of the daily series
    for path, chart in (("trends", "series"), ("complaints", "volume"), ("team", "agents")):
        page.goto(f"{live_server.url}/analytics/{path}?lang=en")
        expect(page.locator(f"#chart-{chart}")).to_have_attribute("data-drawn", "1")
        shot(page, f"dashboard-{path}")
    page.goto(f"{live_server.url}/analytics/trends")
    expect(page.locator("#chart-series")).to_have_attribute("data-drawn", "1")
    assert _option(page, "chart-series")["series"][0]["data"][-1] == 4
    refused = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not refused, refused


def test_browser_team_page_draws_the_forecast_band_and_staffing(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    from caredesk.analytics.rollups import MessageFacts, add_messages, hour_of

    rt = live_server.runtime
    first = hour_of(rt.clock.now()) - timedelta(weeks=2)
    facts = [MessageFacts(first + timedelta(hours=h, minutes=i), {"channel": ("chat",)},
                          frozenset({"messages", "handed_off"}))
             for h in range(2 * 168) for i in range(5 if 1 <= (first + timedelta(hours=h)).hour < 10 else 1)]
    with rt.session_factory() as s, s.begin():
        add_messages(s, facts)
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{page.url} {msg.location['url']}: {msg.text[:160]}"))
    sign_in_page(page, live_server.url, "lead")
    page.goto(f"{live_server.url}/analytics/team?lang=en")
    band = page.locator("#chart-forecast")
    expect(band).to_have_attribute("data-drawn", "1")
    expect(band.locator("canvas").first).to_be_visible()
    option = _option(page, "chart-forecast")
    names = [s["name"] for s in option["series"]]
    assert names[0] == "Messages expected" and names[3] == "Complaints expected" and len(names) == 6
    assert option["legend"][0]["data"] == ["Messages expected", "Complaints expected"]  # not the band's helpers
    expected, lower, height = (option["series"][k]["data"] for k in range(3))
    assert len(expected) == 15 and all(h >= 0 for h in height)
    assert all(lo <= e + 1e-9 for lo, e in zip(lower, expected, strict=True))  # the band holds the line
    assert option["series"][2]["areaStyle"] and option["series"][1]["stack"] == option["series"][2]["stack"]
    staffing = page.locator("#chart-staffing")
    expect(staffing).to_have_attribute("data-drawn", "1")
    staff = _option(page, "chart-staffing")
    assert staff["series"][0]["name"] == "Staff needed" and 14 * 24 < len(staff["series"][0]["data"]) <= 15 * 24
    assert max(staff["series"][0]["data"]) >= 1
    tip = page.evaluate("""() => {
        const c = echarts.getInstanceByDom(document.getElementById('chart-forecast'));
        const f = c.getOption().tooltip[0].formatter;
        return typeof f === 'function'; }""")
    assert tip
    page.select_option("#forecast-series", "channel:chat")
    page.click("#period-form button[type=submit]")
    expect(page.locator("#table-forecast h2")).to_contain_text("Channel: Chat")
    expect(page.locator("#chart-forecast")).to_have_attribute("data-drawn", "1")
    shot(page, "dashboard-team-forecast")
    refused = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not refused, refused
