"""The live web chat in real browsers (Chromium through Playwright) on a real uvicorn server: a customer asks
for a person, an agent signed in in another browser context reads the transcript on the order page, types and
replies, and the customer's open chat shows the typing and the reply without a reload; a dropped stream
reconnects and the reply sent meanwhile appears exactly once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from caredesk.storage.orm import WorkOrder
from caredesk.workorders.replies import do_reply
from tests.e2e.browsing import shot
from tests.e2e.conftest import new_context
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

HANDOFF = "我要转人工，信用卡账单有问题"


def open_chat_and_ask_for_a_person(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/chat?lang=en")
    page.fill("#chat-text", HANDOFF)
    page.press("#chat-text", "Enter")
    expect(page.locator("#chat-log .reply-handoff")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "open")  # the stream opened after the message
    expect(page.locator("#chat-status .chat-case")).to_be_visible()  # the case number, from the stream


def chat_order(rt: Runtime) -> WorkOrder:
    with rt.session_factory() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.channel == "chat").order_by(WorkOrder.id.desc()))
        assert order is not None
        s.expunge(order)
        return order


def test_browser_livechat_agent_reply_reaches_open_chat(live_server: LiveServer, page: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    open_chat_and_ask_for_a_person(page, live_server.url)
    page.evaluate("window.__sameDocument = 'yes'")
    order = chat_order(live_server.runtime)

    agent_context = new_context(browser)
    agent_context.set_default_navigation_timeout(30_000)
    agent = agent_context.new_page()
    try:
        sign_in_page(agent, live_server.url, "agent")
        agent.goto(f"{live_server.url}/workbench/work-orders/{order.id}?lang=en")
        expect(agent.locator("#wo-transcript")).to_contain_text("信用卡账单")  # the conversation so far
        if page.locator("#chat-status").get_attribute("data-status") == "queued":
            expect(page.locator("#chat-log .chat-viewing")).to_have_count(1)  # an agent has the case open
        agent.locator("#wo-reply-input").press_sequentially("您好", delay=50)
        expect(page.locator("#chat-agent-typing")).to_be_visible()  # the customer sees the agent typing
        agent.fill("#wo-reply-input", "您好，我是客服，已看到您的信用卡账单问题，马上为您核实。")
        agent.click("#wo-reply-send")
        reply = page.locator("#chat-log .from-agent")
        expect(reply).to_have_count(1)
        expect(reply).to_contain_text("马上为您核实")
        expect(page.locator("#chat-agent-typing")).to_be_hidden()
        assert page.evaluate("window.__sameDocument") == "yes"  # it came by the stream, not a reload
        shot(page, "livechat")
    finally:
        agent_context.close()

    page.reload()  # after a reload the reply is in the history once, and the stream does not add it again
    expect(page.locator("#chat-log .from-agent")).to_have_count(1)
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    page.wait_for_timeout(500)
    expect(page.locator("#chat-log .from-agent")).to_have_count(1)


def test_browser_livechat_reconnect_gets_missed_reply_once(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    # each stream lasts 3 s and the browser waits 2.5 s before it reconnects (with Last-Event-ID)
    rt.settings.livechat_stream_seconds, rt.settings.livechat_retry_ms = 3.0, 2500
    open_chat_and_ask_for_a_person(page, live_server.url)
    order = chat_order(rt)
    do_reply(rt, order.id, text="first reply, while connected", actor="staff:agent", now=rt.clock.now())
    expect(page.locator("#chat-log .from-agent")).to_have_count(1)

    body = page.locator("body")
    expect(body).to_have_attribute("data-live", "reconnecting", timeout=10_000)  # the stream has ended
    do_reply(rt, order.id, text="second reply, while the stream was down", actor="staff:agent",
             now=rt.clock.now())
    expect(page.locator("#chat-log .from-agent")).to_have_count(2, timeout=10_000)
    expect(page.locator("#chat-log .from-agent").last).to_contain_text("while the stream was down")
    expect(body).to_have_attribute("data-live", "reconnecting", timeout=10_000)
    expect(body).to_have_attribute("data-live", "open", timeout=10_000)
    # through one more drop and reconnect, each reply came by the stream once: none was sent twice
    assert body.get_attribute("data-chat-events") == "2"
    expect(page.locator("#chat-log .from-agent")).to_have_count(2)
