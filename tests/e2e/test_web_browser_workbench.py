"""The agent's screen in a real browser (Chromium through Playwright, real uvicorn, demo runtime): the queue's
order (emergencies and alarms pinned, then priority), the customer's own words and the priority reasons in
words, kept by the live refresh; knowledge at hand inserted into the reply box and sent; an emergency meeting
invitation appearing on the invitee's workbench (a second browser context) without a reload."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import MeetingParticipant, Message, Staff, WorkOrder, WorkOrderEvent
from tests.conftest import create_key
from tests.e2e.browsing import shot
from tests.e2e.conftest import new_context
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

FAQ_EN = "How do I reset my online banking password?"
COMPLAINT_ZH = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"
THREATS_ZH = ["我要向12378投诉", "再不处理我就打12378", "我已经准备好材料去银保监会投诉"]
URGENT_EN = "My credit card was just stolen and someone made unauthorized payments, freeze it now!"
PASSWORD_COMPLAINT_ZH = "网银登录密码忘了，重置了三次都失败，你们系统太差了，我要投诉！"


def receive(rt: Runtime, text: str, ref: str, conversation_id: str | None = None) -> IntakeOutcome:
    return do_receive_message(rt, IncomingMessage(text, "web", ref, conversation_id))


def row_ids(page: Any) -> list[str]:
    return [str(r).removeprefix("conv-") for r in page.locator("#queue tbody tr").evaluate_all(
        "rows => rows.map(r => r.id)")]


def test_browser_queue_pins_emergency_and_alarm_with_customer_words_and_reasons(live_server: LiveServer,
                                                                                 page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    urgent = receive(rt, URGENT_EN, "q-urgent")  # oldest: pinned all the same
    first = receive(rt, THREATS_ZH[0], "q-12378")
    for text in THREATS_ZH[1:]:
        threats = receive(rt, text, "q-12378", first.conversation_id)
    complaint = receive(rt, COMPLAINT_ZH, "q-complaint")
    faq = receive(rt, FAQ_EN, "q-faq")  # newest: answered by the bot, lowest priority
    assert urgent.meeting_id and threats.alarm_id and complaint.work_order_id and faq.reply_message_id

    sign_in_page(page, live_server.url, "agent")
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    ids = row_ids(page)
    assert set(ids[:2]) == {urgent.conversation_id, first.conversation_id}  # pinned above the newer rows
    assert ids.index(complaint.conversation_id) < ids.index(faq.conversation_id)  # priority before recency
    emergency_row = page.locator(f"#conv-{urgent.conversation_id}")
    expect(emergency_row).to_have_class(re.compile(r"\bemergency\b.*\bpinned\b"))
    expect(emergency_row.locator(".badge.emergency")).to_have_text("Emergency")
    expect(emergency_row.locator(".pin")).to_have_text("Pinned")
    alarm_row = page.locator(f"#conv-{first.conversation_id}")
    expect(alarm_row.locator(".badge.alarm")).to_be_visible()
    expect(alarm_row.locator(".pin")).to_be_visible()
    expect(alarm_row.locator(".prio-reason[data-reason='complaint.regulator']")).to_have_text("Regulator threat")
    expect(page.locator(f"#conv-{complaint.conversation_id} .pin")).to_have_count(0)

    faq_row = page.locator(f"#conv-{faq.conversation_id}")  # the customer's words, not the bot's answer
    expect(faq_row.locator("td.text")).to_contain_text(FAQ_EN)
    with rt.session_factory() as s:
        bot_reply = s.get(Message, faq.reply_message_id)
        assert bot_reply is not None and bot_reply.author == "bot"
        bot_text = bot_reply.text_masked
    expect(faq_row.locator("td.text")).not_to_contain_text(bot_text[:30])
    expect(faq_row.locator(".prio")).to_have_text("P5")
    shot(page, "queue-order")

    # A new message arrives live: the refreshed queue keeps the same rule (the new row is not put on top).
    page.evaluate("window.__sameDocument = 'yes'")
    later = receive(rt, FAQ_EN, "q-later")
    expect(page.locator(f"#conv-{later.conversation_id}")).to_be_visible(timeout=5_000)
    assert page.evaluate("window.__sameDocument") == "yes"
    ids = row_ids(page)
    assert set(ids[:2]) == {urgent.conversation_id, first.conversation_id}
    assert ids.index(complaint.conversation_id) < ids.index(later.conversation_id)

    page.goto(f"{live_server.url}/workbench?lang=zh")  # the reasons in the reader's language
    expect(page.locator(f"#conv-{first.conversation_id} .prio-reason[data-reason='complaint.regulator']")
           ).to_have_text("扬言向监管部门投诉")
    expect(page.locator(f"#conv-{urgent.conversation_id} .badge.emergency")).to_have_text("紧急事件")


def test_browser_knowledge_at_hand_inserts_the_answer_and_the_reply_is_sent(live_server: LiveServer,
                                                                             page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    case = receive(rt, PASSWORD_COMPLAINT_ZH, "kb-cust")
    assert case.work_order_id, case.decision
    sign_in_page(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/workbench/conversations/{case.conversation_id}?lang=en")
    suggestions = page.locator("#kb-at-hand .kb-suggestion")
    expect(suggestions.first).to_be_visible()
    assert 3 <= suggestions.count() <= 5
    titles = suggestions.locator(".kb-title").all_inner_texts()
    chosen = suggestions.nth(next(i for i, title in enumerate(titles) if "登录密码" in title))  # the reset entry
    expect(chosen.locator(".excerpt")).not_to_be_empty()
    button = chosen.locator("button.kb-insert")
    answer = button.get_attribute("data-answer") or ""
    entry_id = chosen.get_attribute("data-entry")
    assert "密码" in answer

    page.evaluate("window.__sameDocument = 'yes'")
    with page.expect_response(lambda r: r.url.endswith("/knowledge-inserted") and r.status == 204):
        button.click()
    box = page.locator("#conv-reply-input")
    expect(box).to_have_value(answer)
    assert page.evaluate("window.__sameDocument") == "yes"  # filled in place, nothing sent yet
    box.fill(answer + "\n如仍有问题请回复本消息。")  # the agent edits before sending
    page.click("#conv-reply-send")
    expect(page.locator("#conv-reply-sent")).to_have_text("Reply sent")
    sent = page.locator("li.message.author-agent .body").last
    expect(sent).to_contain_text(answer[:40])
    expect(sent).to_contain_text("如仍有问题请回复本消息。")

    with rt.session_factory() as s:
        events = s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == case.work_order_id)
                           .order_by(WorkOrderEvent.seq)).all()
        used = [e for e in events if e.kind == "knowledge_inserted"]
        assert len(used) == 1 and used[0].data["entry_id"] == entry_id
        assert used[0].data["source"] == "conversation" and used[0].actor.startswith("staff:")
        replies = [e for e in events if e.kind == "reply"]
        assert replies and answer[:40] in replies[-1].note
        assert [e.kind for e in events].index("knowledge_inserted") < [e.kind for e in events].index("reply")

    # The work-order page has the same panel beside its reply box; its timeline names the entry used.
    page.goto(f"{live_server.url}/workbench/work-orders/{case.work_order_id}?lang=en")
    expect(page.locator("#wo-timeline [data-kind='knowledge_inserted'] .kb-used")).to_be_visible()
    first = page.locator("#kb-at-hand .kb-suggestion").first
    expect(first).to_be_visible()
    first.locator("button.kb-insert").click()
    expect(page.locator("#wo-reply-input")).to_have_value(first.locator("button.kb-insert")
                                                          .get_attribute("data-answer") or "")
    shot(page, "knowledge-at-hand")


def test_browser_compliance_rules_refuse_and_warn_in_chinese_with_the_reason(live_server: LiveServer,
                                                                              page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    case = receive(rt, PASSWORD_COMPLAINT_ZH, "compliance-cust")
    assert case.work_order_id, case.decision
    sign_in_page(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/workbench/conversations/{case.conversation_id}?lang=zh")
    with rt.session_factory() as s:
        number = s.get(WorkOrder, case.work_order_id).number  # type: ignore[union-attr]
    expect(page.locator("#conv-reply-form")).to_contain_text(number)  # the case number, not the internal id
    blocked = "为方便核实，请把短信验证码告诉我们，我们保证退款。"
    page.fill("#conv-reply-input", blocked)
    page.click("#conv-reply-send")
    error = page.locator("#conv-reply-error")
    expect(error).to_contain_text("答复未发送，不符合合规规则：索要密码或验证码（「验证码告诉我」）")
    expect(error).to_contain_text("银行从不向客户索要密码")
    assert "credential_request" not in error.inner_text() and "phishing" not in error.inner_text()
    expect(page.locator("#conv-reply-input")).to_have_value(blocked)  # what the agent wrote is kept

    page.fill("#conv-reply-input", "您的资金绝对安全，我们已在核实，请耐心等待。")
    page.click("#conv-reply-send")
    expect(page.locator("#conv-reply-sent")).to_be_visible()
    page.goto(f"{live_server.url}/workbench/work-orders/{case.work_order_id}?lang=zh")
    warning = page.locator("#wo-timeline [data-kind='compliance_warning']")
    expect(warning.locator(".ev-title")).to_have_text("合规提示")
    expect(warning.locator(".compliance-hits li")).to_have_text(
        "绝对化用语（「绝对安全」）：对安全性或收益使用绝对化、最高级的表述，属于误导性宣传。")
    shot(page, "compliance-warning")
    with rt.session_factory() as s:
        replies = s.scalars(select(Message.text).where(Message.conversation_id == case.conversation_id,
                                                       Message.author == "agent")).all()
    assert replies == ["您的资金绝对安全，我们已在核实，请耐心等待。"]  # the blocked one never went out


def _usernames(rt: Runtime, meeting_id: str) -> set[str]:
    with rt.session_factory() as s:
        return set(s.scalars(select(Staff.username).join(MeetingParticipant, MeetingParticipant.staff_id == Staff.id)
                             .where(MeetingParticipant.meeting_id == meeting_id)))


def test_browser_invitee_sees_the_meeting_invitation_at_once_until_joining(live_server: LiveServer, page: Any,
                                                                           browser: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    sign_in_page(page, live_server.url, "agent")  # the first context: an agent who is not on call
    invitee_context = new_context(browser)
    try:
        invitee = invitee_context.new_page()
        errors: list[str] = []
        invitee.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in_page(invitee, live_server.url, "zhou.ting")  # on call for card fraud (demo roster)
        expect(invitee.locator("body")).to_have_attribute("data-live", "open")
        expect(invitee.locator("#invitations .invitation")).to_have_count(0)
        invitee.evaluate("window.__sameDocument = 'yes'")

        started = time.monotonic()
        r = httpx.post(f"{live_server.url}/api/v1/messages", timeout=30,
                       headers={"Authorization": f"Bearer {create_key(rt)}"},
                       json={"text": URGENT_EN, "channel": "web", "customer_ref": "api-urgent"})
        assert r.status_code == 201, r.text
        meeting_id = r.json()["decision"]["meeting_id"]
        assert meeting_id and "zhou.ting" in _usernames(rt, meeting_id) and "agent" not in _usernames(rt, meeting_id)

        card = invitee.locator(f"#invite-{meeting_id}")
        expect(card).to_be_visible(timeout=5_000)
        assert time.monotonic() - started < 8  # the intake's own work included
        assert invitee.evaluate("window.__sameDocument") == "yes"  # it came by the live stream
        expect(card).to_contain_text("You are invited to an emergency meeting")
        expect(card.locator("a.invite-open")).to_have_attribute("href", f"/workbench/meetings/{meeting_id}")
        join = card.locator("a.invite-join").get_attribute("href") or ""
        assert join.startswith("/join/")
        shot(invitee, "invitation")
        expect(page.locator("#invitations .invitation")).to_have_count(0)  # only the invitees see it

        invitee.reload()  # still there after a reload, until they respond
        expect(invitee.locator(f"#invite-{meeting_id}")).to_be_visible()
        joined = invitee.request.get(f"{live_server.url}{join}", max_redirects=0)
        assert joined.status == 303  # the join is recorded, then the room opens
        invitee.reload()
        expect(invitee.locator(f"#invite-{meeting_id}")).to_have_count(0)
        assert not errors, f"JavaScript errors on the invitee's page: {errors}"
    finally:
        invitee_context.close()
