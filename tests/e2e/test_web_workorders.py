"""The work-order pages in a real browser (Debian's Chromium through Playwright) against a live uvicorn server
on the demo runtime: an agent opens a complaint order from their queue, sees its SLA countdown, transfers it
through the dialog (reason required) and sees the hop on the timeline, replies with a macro picked from the
list, and a colleague opening the same order is told who else is viewing it; a customer rates a closed order
1 on the survey link and the agent sees the order reopened.

Set CAREDESK_TEST_SHOTS=/some/dir to save screenshots of the order page, the queue and the survey there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import SatisfactionSurvey, Staff, WorkOrder
from caredesk.workorders import closure, replies, transfers
from tests.e2e.browsing import shot
from tests.e2e.conftest import new_context
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

COMPLAINT = "信用卡年费被乱扣了，我要投诉，请给我一个说法"


@pytest.fixture
def contexts(browser: Any) -> Iterator[Any]:
    """New pages, each in its own browser context (own cookies); no JavaScript errors allowed on any."""
    opened: list[Any] = []
    errors: list[str] = []

    def new_page() -> Any:
        context = new_context(browser)
        opened.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield new_page
    for context in opened:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def complaint_for_agent(rt: Runtime, ref: str) -> str:
    outcome = do_receive_message(rt, IncomingMessage(COMPLAINT, "chat", ref))
    assert outcome.work_order_id
    with rt.session_factory() as s:
        agent = s.scalars(select(Staff.id).where(Staff.username == "agent")).one()
    transfers.do_assign(rt, outcome.work_order_id, staff_id=agent, actor="test", now=rt.clock.now())
    return outcome.work_order_id


def test_browser_agent_transfers_with_a_reason_and_replies_with_a_macro(live_server: LiveServer, contexts: Any
                                                                         ) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    replies.do_create_macro(rt, code="fee-refund", title_zh="年费退回", title_en="Annual fee refunded",
                            body_zh="您好，工单 {order} 的年费已退回，请查收。",
                            body_en="The fee of {order} is refunded.",
                            actor="test", now=rt.clock.now())
    oid = complaint_for_agent(rt, "browser-wo-1")
    page = contexts()
    page.goto(f"{live_server.url}/workbench/my-orders?lang=en")
    expect(page).to_have_url(f"{live_server.url}/login")  # sign in first
    sign_in_page(page, live_server.url, "agent")
    page.click("#nav-my-orders")
    row = page.locator(f"#wo-row-{oid}")
    expect(row.locator(".sla-left")).to_contain_text("business min left")
    expect(row.locator(".prio")).to_contain_text("P")
    shot(page, "wo-queue")

    row.locator("a").first.click()
    expect(page.locator("h1")).to_have_text("Work order")
    with rt.session_factory() as s:  # the page shows the case number people quote, not the internal id
        number = s.scalar(select(WorkOrder.case_number).where(WorkOrder.id == oid))
    assert number is not None
    expect(page.locator("#work-order-number")).to_have_text(number)
    expect(page.locator("#work-order-number")).to_have_attribute("title", oid)
    first = page.locator("#wo-sla .sla-row[data-target='first_response']")
    expect(first.locator(".sla-left")).to_contain_text("business min left")
    expect(first).to_have_attribute("data-state", "running")

    # the transfer dialog: a reason is required before anything is sent
    dialog = page.locator("#wo-transfer-dialog")
    expect(dialog).to_be_hidden()
    page.click("#wo-transfer-open")
    expect(dialog).to_be_visible()
    page.select_option("#wo-transfer-department", "retail_banking")
    page.click("#wo-transfer-submit")
    expect(dialog).to_be_visible()  # the browser refused the empty reason
    assert page.locator("#wo-timeline .kind-transferred").count() == 0
    page.fill("#wo-transfer-reason", "需零售银行部核实年费规则")
    page.click("#wo-transfer-submit")
    expect(page.locator("#wo-done")).to_have_text("Order transferred")
    expect(dialog).to_have_count(1)
    expect(page.locator("#wo-transfer-dialog")).to_be_hidden()
    hop = page.locator("#wo-timeline .kind-transferred")
    expect(hop).to_have_count(1)
    expect(hop.locator(".from")).to_have_text("Customer Service Centre")
    expect(hop.locator(".to")).to_have_text("Retail Banking")
    expect(hop.locator(".hop-time")).to_contain_text("hop took")
    expect(hop).to_contain_text("需零售银行部核实年费规则")
    expect(page.locator("#wo-department")).to_have_text("Retail Banking")

    # the macro picker fills the reply box; sending records the macro on the timeline
    page.select_option("#wo-macro", "fee-refund")
    expect(page.locator("#wo-reply-input")).to_have_value(f"您好，工单 {number} 的年费已退回，请查收。")
    page.click("#wo-reply-send")
    expect(page.locator("#wo-done")).to_have_text("Reply sent")
    reply = page.locator("#wo-timeline .ev-reply").last
    expect(reply).to_contain_text("fee-refund")
    expect(reply.locator(".bubble")).to_have_text(f"您好，工单 {number} 的年费已退回，请查收。")

    # an internal note looks different from a reply, and a refusal is shown in place
    page.fill("#wo-note-form textarea", "客户为金卡客户，注意跟进")
    page.click("#wo-note-form button")
    expect(page.locator("#wo-timeline .ev-note .bubble")).to_have_text("客户为金卡客户，注意跟进")
    page.select_option("#wo-step-form select[name=step]", "investigate")
    page.click("#wo-step-form button")
    expect(page.locator("#wo-done")).to_have_text("Moved to the next step")
    page.click("#wo-step-form button")  # leaving "investigate" needs its root cause
    expect(page.locator("#wo-error")).to_contain_text("root_cause")
    shot(page, "wo-order")

    # a colleague opening the order (now in retail banking: a complaint manager sees every department) is
    # told that the agent is on it
    other = contexts()
    sign_in_page(other, live_server.url, "zheng.hui")
    other.goto(f"{live_server.url}/workbench/work-orders/{oid}?lang=en")
    expect(other.locator("#wo-collision")).to_contain_text("Demo Agent is also viewing this order")


def test_browser_customer_rates_one_and_the_order_reopens(live_server: LiveServer, contexts: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    oid = complaint_for_agent(rt, "browser-wo-2")
    closure.do_resolve(rt, oid, resolution="年费已退回。", actor="test", now=rt.clock.now())
    _, survey, _ = closure.do_close(rt, oid, actor="test", now=rt.clock.now())
    with rt.session_factory() as s:
        token = s.scalars(select(SatisfactionSurvey.token).where(SatisfactionSurvey.id == survey.id)).one()

    customer = contexts()
    customer.goto(f"{live_server.url}/survey/{token}")
    expect(customer.locator("h1")).to_have_text("服务满意度调查")  # the order's language
    expect(customer.locator(".rating")).to_have_count(5)
    customer.fill("#survey-comment", "钱没退回来")
    customer.click("#rate-1")
    expect(customer.locator("#survey-thanks")).to_be_visible()
    expect(customer.locator("#survey-reopened")).to_be_visible()
    shot(customer, "wo-survey")
    customer.reload()
    expect(customer.locator("#survey-answered")).to_be_visible()  # once only

    agent = contexts()
    sign_in_page(agent, live_server.url, "agent")
    agent.goto(f"{live_server.url}/workbench/work-orders/{oid}?lang=en")
    expect(agent.locator("#wo-status")).to_have_text("Reopened")
    expect(agent.locator("#wo-rating")).to_have_text("Customer rated 1/5")
    expect(agent.locator("#wo-timeline .kind-survey_answered")).to_contain_text("钱没退回来")


def test_browser_lead_starts_a_held_emergency_with_one_click(live_server: LiveServer, contexts: Any) -> None:
    """An urgent-enough message below the gate's confidence waits on its order for a lead; the lead starts
    the emergency response from the order page, and the flag goes."""
    from playwright.sync_api import expect

    rt = live_server.runtime
    rt.settings.emergency_urgency = ["urgent", "attention"]  # attention counts as urgent here ...
    rt.settings.emergency_min_confidence = 1.0  # ... and only a hard rule passes the gate: the message is held
    outcome = do_receive_message(rt, IncomingMessage("转账失败了三次，钱到现在还没退回来，怎么回事", "chat", "held-1"))
    assert outcome.decision.confirm_emergency and outcome.work_order_id and outcome.meeting_id is None
    page = contexts()
    sign_in_page(page, live_server.url, "lead")
    page.goto(f"{live_server.url}/workbench/work-orders/{outcome.work_order_id}?lang=en")
    form = page.locator("#wo-emergency-form")
    expect(form).to_contain_text("Emergency to confirm")
    expect(page.locator("#wo-timeline .kind-emergency_suggested")).to_have_count(1)
    page.fill("#wo-emergency-form textarea", "客户资金滞留，启动应急")
    page.click("#wo-emergency-start")
    expect(page.locator("#wo-done")).to_have_text("Emergency response started; the on-call staff are being invited")
    expect(page.locator("#wo-timeline .kind-emergency_started")).to_have_count(1)
    expect(page.locator("#wo-emergency-form")).to_have_count(0)
    shot(page, "wo-emergency-confirmed")
