"""The lead on duty in a real browser (Chromium through Playwright, real uvicorn, demo bank): with no agent
present, an escalating conversation's order shows in the queues as "已转值班主管" with the lead's name, never
as merely waiting, and its timeline says why; an ordinary complaint beside it is shown waiting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import update

from caredesk.clock import FrozenClock
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Staff
from tests.e2e.browsing import shot
from tests.integration.test_escalation_counting import ESCALATING
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

FRIDAY_10 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: `lead` is on duty by the demo rota


def test_duty_lead_browser_queue_shows_the_order_with_the_lead_not_waiting(live_server: LiveServer,
                                                                           page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    rt.clock = FrozenClock(FRIDAY_10)
    with rt.uow() as uow:  # nobody is present
        uow.session.execute(update(Staff).where(Staff.capacity > 0).values(away=True))
        uow.commit()
    first = do_receive_message(rt, IncomingMessage(ESCALATING[0], "web", "cust-browser-duty"))
    handed = first.work_order_id
    assert handed is not None
    do_receive_message(rt, IncomingMessage(ESCALATING[1], "web", "cust-browser-duty", first.conversation_id))
    waiting = do_receive_message(rt, IncomingMessage("信用卡年费被乱扣了，我要投诉，请给我一个说法", "web",
                                                     "cust-browser-mild")).work_order_id
    assert waiting is not None

    sign_in_page(page, live_server.url, "lead")
    page.goto(f"{live_server.url}/workbench/team-orders?lang=zh")
    row = page.locator(f"#wo-row-{handed}")
    expect(row.locator(".assignee")).to_contain_text("已转值班主管")
    expect(row.locator(".assignee")).to_contain_text("演示组长 Demo Lead")
    expect(row).not_to_contain_text("排队等待坐席")
    expect(page.locator(f"#wo-row-{waiting} .assignee")).to_have_text("排队等待坐席")
    shot(page, "duty-lead-team-queue")

    page.goto(f"{live_server.url}/workbench/my-orders?lang=zh")
    expect(page.locator(f"#wo-row-{handed} .duty-lead")).to_have_text("已转值班主管")

    page.goto(f"{live_server.url}/workbench/work-orders/{handed}?lang=zh")
    expect(page.locator("#wo-assignee")).to_contain_text("已转值班主管")
    event = page.locator(".wo-timeline .kind-handed_to_lead")
    expect(event.locator(".ev-title")).to_have_text("已转值班主管")
    expect(event.locator(".duty-handoff")).to_contain_text("按值班表在岗")
    expect(event.locator(".why")).to_contain_text("无空闲坐席")
    expect(event.locator(".why")).to_contain_text("投诉等级 3")
    shot(page, "duty-lead-order")

    page.goto(f"{live_server.url}/workbench/team-orders?lang=en")
    expect(page.locator(f"#wo-row-{handed} .assignee")).to_contain_text("With the lead on duty")
