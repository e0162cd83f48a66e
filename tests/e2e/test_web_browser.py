"""The web UI in a real browser (Debian's Chromium through Playwright) against a real uvicorn server on the
demo runtime: the customer chat, the agent's live workbench (server-sent events + htmx, no reload), the
conversation and work-order pages, and the language switch.

Set CAREDESK_TEST_SHOTS=/some/dir to save screenshots of the chat page and the workbench there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from caredesk.intake.actions import IncomingMessage, do_receive_message
from tests.e2e.browsing import shot
from tests.support.web_session import submit_sign_in_form

if TYPE_CHECKING:
    from tests.conftest import LiveServer

# The browser tests run on SQLite only: the database paths are covered by the API and page tests.
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

FAQ_EN = "How do I reset my online banking password?"
COMPLAINT_ZH = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"


def send_chat(page: Any, text: str) -> None:
    page.fill("#chat-text", text)
    page.press("#chat-text", "Enter")


def test_browser_chat_answers_faq_and_opens_ticket_for_complaint(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/chat?lang=en")
    expect(page.locator("h1")).to_have_text("Customer service chat")
    send_chat(page, FAQ_EN)
    answer = page.locator("#chat-log .reply-answer").last
    expect(answer).to_contain_text("Forgot password")
    expect(page.locator("#chat-text")).to_have_value("")  # the form is cleared for the next question

    send_chat(page, COMPLAINT_ZH)
    ticket = page.locator("#chat-log .reply-ticket").last
    expect(ticket).to_contain_text("我们已为您创建工单")  # the reply follows the customer's language
    expect(page.locator("#chat-log .from-customer")).to_have_count(2)

    send_chat(page, "   ")  # an empty message is refused inline, never a 500
    expect(page.locator("#chat-error")).to_contain_text("Please type a message")
    expect(page.locator("#chat-log .from-customer")).to_have_count(2)
    shot(page, "chat")

    page.reload()  # the conversation is kept in the browser session
    expect(page.locator("#chat-log .from-customer")).to_have_count(2)
    expect(page.locator("#chat-error")).to_be_empty()


def test_browser_workbench_updates_live_and_shows_triage(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/workbench?lang=en")
    expect(page).to_have_url(f"{live_server.url}/login")
    submit_sign_in_form(page, live_server.url, "agent")
    expect(page.locator("h1")).to_have_text("Agent workbench")
    expect(page.locator("body")).to_have_attribute("data-live", "open")  # the event stream is connected
    expect(page.locator("#queue")).to_contain_text("No conversations yet")

    # A customer message arrives through the intake while the agent watches: the row appears without a reload.
    page.evaluate("window.__sameDocument = 'yes'")
    outcome = do_receive_message(live_server.runtime, IncomingMessage(COMPLAINT_ZH, "web", "browser-cust-7"))
    row = page.locator(f"#conv-{outcome.conversation_id}")
    expect(row).to_be_visible(timeout=10_000)  # a wait bound, not a speed claim
    assert page.evaluate("window.__sameDocument") == "yes"  # no navigation happened
    assert int(page.locator("body").get_attribute("data-live-events") or 0) >= 1  # it came by the stream
    expect(row).to_contain_text("browser-cust-7")
    expect(row.locator(".chip.pt")).to_contain_text("Complaint")
    expect(row.locator(".decision")).to_have_text("Work order")
    expect(row.locator(f"a[href='/workbench/work-orders/{outcome.work_order_id}']")).to_be_visible()

    second = do_receive_message(live_server.runtime, IncomingMessage(FAQ_EN, "web", "browser-cust-8"))
    # the queue sorts by priority before recency: the newer question (P5) comes below the complaint (P3)
    expect(page.locator("#queue tbody tr").nth(1)).to_have_id(f"conv-{second.conversation_id}")
    expect(page.locator("#queue tbody tr").first).to_have_id(f"conv-{outcome.conversation_id}")
    shot(page, "workbench")

    row.locator(".customer a").click()
    expect(page.locator("h1")).to_have_text("Conversation")
    triage = page.locator(".triage").first
    expect(triage.locator(".chip.ct")).to_be_visible()
    expect(triage.locator(".head-problem_type th")).to_contain_text("Problem type: Complaint")
    expect(triage.locator(".head-content_type .reason").first).to_be_visible()  # explanation reasons
    expect(triage.locator(".decision-box")).to_contain_text("Work order")
    expect(triage.locator(".decision-reason")).not_to_be_empty()
    shot(page, "conversation")

    triage.locator(".decision-box a.button").click()
    expect(page.locator("h1")).to_have_text("Work order")
    expect(page.locator(".timeline .event").first).to_contain_text("created")


def test_browser_language_switch(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login?lang=en")
    expect(page.locator("h1")).to_have_text("Staff sign-in")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("员工登录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.goto(f"{live_server.url}/chat")  # remembered for the session
    expect(page.locator("h1")).to_have_text("在线客服")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Customer service chat")
    expect(page.locator("#chat-text")).to_have_attribute("placeholder", "Type your question…")
