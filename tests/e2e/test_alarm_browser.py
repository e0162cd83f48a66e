"""The live alarm in a real browser (Chromium through Playwright, real uvicorn, demo runtime): an agent
watches the workbench, a Chinese conversation's third regulator threat arrives through the intake, the alarm
card appears over the event stream without a reload, with its forecast, and the agent acknowledges it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Alarm, AlarmEvent
from tests.e2e.browsing import shot
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

THREATS_ZH = ["我要向12378投诉", "再不处理我就打12378", "我已经准备好材料去银保监会投诉"]


def test_browser_alarm_appears_live_and_agent_acknowledges(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    sign_in_page(page, live_server.url, "agent")
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    expect(page.locator("#alarms")).to_contain_text("No open alarms")
    page.evaluate("window.__sameDocument = 'yes'")

    rt = live_server.runtime
    first = do_receive_message(rt, IncomingMessage(THREATS_ZH[0], "web", "browser-12378"))
    do_receive_message(rt, IncomingMessage(THREATS_ZH[1], "web", "browser-12378", first.conversation_id))
    expect(page.locator("#alarms .alarm-card")).to_have_count(0)  # two threats: no alarm yet
    third = do_receive_message(rt, IncomingMessage(THREATS_ZH[2], "web", "browser-12378", first.conversation_id))
    assert third.alarm_id
    card = page.locator(f"#alarm-{third.alarm_id}")
    expect(card).to_be_visible()
    assert page.evaluate("window.__sameDocument") == "yes"  # it came by the stream, not a reload
    expect(card).to_have_attribute("data-status", "open")
    expect(card.locator(".status")).to_have_css("color", "rgb(192, 53, 43)")  # an open alarm is red, not green
    expect(card).to_contain_text("browser-12378")
    expect(card.locator(".probability")).to_contain_text("%")
    expect(card.locator(".forecast-reasons li").first).to_contain_text("regulator, media or a court")
    expect(page.locator(f"#conv-{first.conversation_id} .badge.alarm")).to_be_visible()
    shot(page, "alarm")

    card.locator("button.ack").click()
    expect(page.locator(f"#alarm-{third.alarm_id}")).to_have_attribute("data-status", "acknowledged")
    expect(page.locator(f"#alarm-{third.alarm_id} .status")).to_have_css("color", "rgb(178, 106, 0)")
    expect(page.locator(f"#alarm-{third.alarm_id} button.ack")).to_have_count(0)
    with rt.session_factory() as s:
        alarm = s.get(Alarm, third.alarm_id)
        assert alarm is not None and alarm.status == "acknowledged" and alarm.acknowledged_by is not None
        kinds = s.scalars(select(AlarmEvent.kind).where(AlarmEvent.alarm_id == alarm.id)).all()
    assert "acknowledged" in kinds
