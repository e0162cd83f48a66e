"""In a real browser: the customer's chat reply and the agent's work-order page show the case number (not the
internal id), and the emergency's meeting page and work-order page link each other."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from caredesk.storage.orm import WorkOrder
from tests.e2e.browsing import shot
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

CARD_FRAUD = "我的信用卡昨天被盗刷了三万块，现在就要冻结！"
CASE = re.compile(r"C\d{8}-\d{4,}")


def test_browser_chat_and_order_pages_show_the_case_number(live_server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    customer = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    customer.set_default_timeout(15_000)
    chat = customer.new_page()
    chat.goto(f"{live_server.url}/chat?lang=zh")
    chat.fill("#chat-text", CARD_FRAUD)
    chat.press("#chat-text", "Enter")
    bubble = chat.locator("#chat-log .reply-emergency .bubble").last
    expect(bubble).to_contain_text("95000")
    expect(bubble).to_contain_text("工单号")
    text = bubble.inner_text()
    found = CASE.search(text)
    assert found is not None, text
    number = found.group(0)
    with live_server.runtime.session_factory() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.case_number == number))
        assert order is not None
        order_id = order.id
    assert order_id not in text
    shot(chat, "chat-emergency")
    customer.close()

    staff = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900})
    staff.set_default_timeout(15_000)
    page = staff.new_page()
    sign_in_page(page, live_server.url, "luo.jun")  # the credit card centre's head, on the card-fraud roster
    page.goto(f"{live_server.url}/workbench/work-orders/{order_id}?lang=en")
    expect(page.locator("#work-order-number")).to_have_text(number)
    expect(page.locator("h1")).to_have_text("Work order")
    assert order_id not in page.locator(".heading").first.inner_text()
    page.click("#wo-meeting-link")  # the order names its emergency meeting ...
    expect(page).to_have_url(re.compile(r"/workbench/meetings/[0-9a-f]{32}$"))
    expect(page.locator("#meeting-order-link")).to_contain_text(number)  # ... and the meeting its order
    expect(page.locator("table.participants")).to_contain_text("周婷")
    shot(page, "meeting-case-number")
    page.click("#meeting-order-link")
    expect(page.locator("#work-order-number")).to_have_text(number)
    staff.close()
