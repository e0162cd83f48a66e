"""A surge report in a real browser (Chromium through Playwright, real uvicorn, demo runtime, SQLite): from the
cockpit's link to the list and the report; ECharts (vendored) draws the hourly series the server computed with
the expected level dashed, under the app's Content-Security-Policy; the samples are shown masked; the team lead
acknowledges with the page's button; the Chinese page has Chinese labels in the page and the chart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from caredesk.analytics.surge_actions import do_detect_surges
from caredesk.storage.orm import Surge
from tests.e2e.browsing import shot
from tests.support.surges import DETECT_AT, PHONE, SHANGHAI, seed_rising_topic
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
CHART = "(id) => { const c = echarts.getInstanceByDom(document.getElementById(id)); return c && c.getOption(); }"


def test_browser_surge_report_chart_samples_acknowledge_chinese(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    seed_rising_topic(rt)
    do_detect_surges(rt.uow(), now=DETECT_AT, tz=SHANGHAI)
    with rt.session_factory() as s:
        surge = s.scalar(select(Surge).where(Surge.dimension == "topic", Surge.value == "card_fee"))
        assert surge is not None
        surge_id, series = surge.id, surge.report["series"]
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{page.url} {msg.location['url']}: {msg.text[:160]}"))

    sign_in_page(page, live_server.url, "lead")
    page.click("#nav-analytics")
    page.click("#cockpit-surges a")
    expect(page).to_have_url(f"{live_server.url}/analytics/surges")
    page.click(f"a[href='/analytics/surges/{surge_id}']")
    expect(page).to_have_url(f"{live_server.url}/analytics/surges/{surge_id}")

    chart = page.locator("#chart-surge")
    expect(chart).to_have_attribute("data-drawn", "1")
    expect(chart.locator("canvas").first).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
    option = page.evaluate(CHART, "chart-surge")
    observed, expected = option["series"]
    assert (observed["name"], expected["name"]) == ("Observed", "Expected")
    assert observed["data"] == [h["observed"] for h in series]
    assert expected["data"] == [h["expected"] for h in series] and expected["lineStyle"]["type"] == "dashed"
    assert len(option["xAxis"][0]["data"]) == len(series)
    assert observed["data"][-1] >= 12 and sum(observed["data"][-2:]) == 24

    samples = page.locator("#surge-samples li")
    expect(samples.first).to_be_visible()
    texts = samples.all_inner_texts()
    assert texts and all(PHONE not in text for text in texts)
    assert "年费被扣了两次，电话138****5678" in texts  # the newest sample, its number masked
    assert PHONE not in page.content()
    expect(page.locator("#surge-clusters .surge-cluster").first).to_be_visible()
    expect(page.locator("#fig-observed .value")).to_have_text("24")
    shot(page, "surge-report")

    page.click("#surge-acknowledge")
    expect(page.locator("#surge-status")).to_have_attribute("data-status", "acknowledged")
    expect(page.locator("#surge-acknowledge")).to_have_count(0)
    expect(page.locator("#surge-resolve")).to_be_visible()
    with rt.session_factory() as s:
        acknowledged = s.get(Surge, surge_id)
        assert acknowledged is not None and acknowledged.status == "acknowledged"
        assert acknowledged.acknowledged_by is not None

    page.goto(f"{live_server.url}/analytics/surges/{surge_id}?lang=zh")
    expect(page.locator("#surge-title")).to_contain_text("突增报告")
    expect(page.locator("#surge-status")).to_have_text("已确认")
    expect(chart).to_have_attribute("data-drawn", "1")
    zh = page.evaluate(CHART, "chart-surge")
    assert [s["name"] for s in zh["series"]] == ["实际", "预期"]
    expect(page.locator("#surge-samples h2")).to_have_text("样例消息")
    shot(page, "surge-report-zh")
    page.goto(f"{live_server.url}/analytics/surges")
    expect(page.locator(f"tr[data-surge='{surge_id}'] .status")).to_have_text("已确认")
    refused = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not refused, refused
