"""The web UI through the real app (TestClient, no browser): sign-in, the workbench and its htmx fragment,
the conversation / work-order / meeting pages, the join link, the customer chat and the language choice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select

from caredesk.accounts.credentials import hash_password
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import Conversation, MeetingParticipant, Message, Staff, TriageResult
from caredesk.web.i18n import Translator, choose_language, parse_accept_language
from tests.support.web_session import HX, csrf_token, submit_sign_in

FAQ_EN = "How do I reset my online banking password?"
COMPLAINT_ZH = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"
URGENT_EN = "My credit card was just stolen and someone made unauthorized payments, freeze it now!"


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def receive(rt: Runtime, text: str, ref: str = "web-cust-1") -> IntakeOutcome:
    return do_receive_message(rt, IncomingMessage(text, "chat", ref))


# --- sign-in ---------------------------------------------------------------------------------------
def test_login_wrong_password_is_401_form_with_error(web: TestClient) -> None:
    token = csrf_token(web)
    r = web.post("/login", data={"username": "agent", "password": "wrong", "csrf_token": token},
                 headers={"Accept-Language": "en"})
    assert r.status_code == 401
    assert 'id="login-error"' in r.text and "Wrong username or password" in r.text
    assert 'name="password"' in r.text and 'value="agent"' in r.text  # the form again, username kept
    assert "staff_id" not in r.headers.get("set-cookie", "")
    assert web.get("/workbench").status_code == 303  # still signed out
    assert web.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token}).status_code == 401
    assert web.post("/login", data={"csrf_token": token}).status_code == 401  # not a 422 JSON body


def test_login_then_logout(web: TestClient) -> None:
    assert web.get("/login").status_code == 200
    submit_sign_in(web, "agent")
    assert web.get("/workbench").status_code == 200
    assert web.get("/login").headers["location"] == "/workbench"  # already signed in
    assert web.get("/").headers["location"] == "/workbench"  # staff land on their workbench
    r = web.post("/logout", data={"csrf_token": csrf_token(web, "/workbench")})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert web.get("/workbench").status_code == 303


def test_workbench_pages_require_login(web: TestClient) -> None:
    for path in ("/workbench", "/workbench/events", "/workbench/conversations/x", "/workbench/work-orders/x",
                 "/workbench/meetings/x"):
        r = web.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path
    home = web.get("/")  # not signed in: the way to the customer chat and to the staff sign-in
    assert home.status_code == 200 and 'href="/chat"' in home.text and 'href="/login"' in home.text
    r = web.get("/workbench", headers=HX)  # an XHR would follow a redirect silently: htmx is told instead
    assert (r.status_code, r.headers["hx-redirect"]) == (401, "/login")


def test_a_role_without_the_permission_gets_403_page(web: TestClient, demo_runtime: Runtime) -> None:
    with demo_runtime.uow() as uow:
        uow.session.add(Staff(username="outsider", display_name="Outsider", email="o@demo-bank.example",
                              role="contractor", password_hash=hash_password("pw-outsider")))
        uow.commit()
    submit_sign_in(web, "outsider", "pw-outsider")
    for path in ("/workbench", "/workbench/work-orders/x", "/workbench/meetings/x"):
        r = web.get(path + "?lang=en")
        assert r.status_code == 403 and "Not allowed" in r.text, path


# --- workbench ------------------------------------------------------------------------------------
def test_workbench_full_page_and_htmx_fragment(web: TestClient, demo_runtime: Runtime) -> None:
    answered = receive(demo_runtime, FAQ_EN, ref="cust-faq")
    ticket = receive(demo_runtime, COMPLAINT_ZH, ref="cust-complaint")
    submit_sign_in(web, "agent")
    page = web.get("/workbench")
    assert page.status_code == 200 and "<html" in page.text
    assert 'hx-get="/workbench"' in page.text and "/static/htmx.min.js" in page.text
    assert page.headers["cache-control"] == "no-store"
    fragment = web.get("/workbench", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<body" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    rows = re.findall(r'<tr id="conv-(\w+)"', fragment.text)
    assert rows == [ticket.conversation_id, answered.conversation_id]  # newest first
    assert f"/workbench/work-orders/{ticket.work_order_id}" in fragment.text
    assert "cust-faq" in fragment.text and "d-answer" in fragment.text and "d-work_order" in fragment.text


def test_workbench_queue_query_count_does_not_grow(web: TestClient, demo_runtime: Runtime) -> None:
    submit_sign_in(web, "agent")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def queries_for_fragment() -> int:
        statements.clear()
        event.listen(demo_runtime.engine, "before_cursor_execute", count)
        try:
            assert web.get("/workbench", headers=HX).status_code == 200
        finally:
            event.remove(demo_runtime.engine, "before_cursor_execute", count)
        return len(statements)

    receive(demo_runtime, FAQ_EN, ref="q-0")
    one = queries_for_fragment()
    for i in range(1, 6):
        receive(demo_runtime, COMPLAINT_ZH if i % 2 else FAQ_EN, ref=f"q-{i}")
    assert queries_for_fragment() == one <= 12


def test_conversation_page_shows_triage_explanation_and_decision(web: TestClient, demo_runtime: Runtime
                                                                  ) -> None:
    outcome = receive(demo_runtime, FAQ_EN)
    submit_sign_in(web, "agent")
    r = web.get(f"/workbench/conversations/{outcome.conversation_id}?lang=en")
    assert r.status_code == 200
    for text in ("Content type: System", "Problem type: Consultation", "Confidence", "Reasons",
                 "knowledge match", "Knowledge-base answer", "Forgot password", "version 1", "Emotion"):
        assert text in r.text, text
    assert r.text.count('class="reason"') >= 3  # the explanation's words per head


def test_work_order_and_meeting_pages(web: TestClient, demo_runtime: Runtime) -> None:
    ticket = receive(demo_runtime, COMPLAINT_ZH)
    urgent = receive(demo_runtime, URGENT_EN, ref="web-cust-urgent")
    assert ticket.work_order_id and urgent.meeting_id
    submit_sign_in(web, "agent")
    order = web.get(f"/workbench/work-orders/{ticket.work_order_id}?lang=en")
    assert order.status_code == 200
    assert ticket.work_order_id in order.text and "Timeline" in order.text and "#1 created" in order.text
    meeting = web.get(f"/workbench/meetings/{urgent.meeting_id}")
    assert meeting.status_code == 200
    assert 'id="room-link"' in meeting.text and "https://" in meeting.text
    assert meeting.text.count("<tr>") >= 3  # header + at least two participants
    with demo_runtime.session_factory() as s:
        agent = s.scalars(select(Staff).where(Staff.username == "agent")).one()
        others = s.scalars(select(MeetingParticipant.join_token)
                           .where(MeetingParticipant.meeting_id == urgent.meeting_id,
                                  MeetingParticipant.staff_id != agent.id)).all()
    assert others and not any(token in meeting.text for token in others)  # join links are personal


def test_unknown_ids_and_join_tokens_are_html_404(web: TestClient) -> None:
    r = web.get("/join/not-a-token")  # public: no sign-in needed to learn that a link is wrong
    assert r.status_code == 404 and "<html" in r.text
    submit_sign_in(web, "agent")
    for path in ("/workbench/conversations/nope", "/workbench/work-orders/nope", "/workbench/meetings/nope"):
        r = web.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "404" in r.text


def test_join_records_the_join_and_redirects_to_the_room(web: TestClient, demo_runtime: Runtime) -> None:
    urgent = receive(demo_runtime, URGENT_EN)
    with demo_runtime.session_factory() as s:
        participant = s.scalars(select(MeetingParticipant)
                                .where(MeetingParticipant.meeting_id == urgent.meeting_id)
                                .order_by(MeetingParticipant.position)).first()
        assert participant is not None and participant.joined_at is None
        token, participant_id = participant.join_token, participant.id
    r = web.get(f"/join/{token}")
    assert r.status_code == 303 and r.headers["location"].startswith("https://")
    with demo_runtime.session_factory() as s:
        joined = s.get(MeetingParticipant, participant_id)
        assert joined is not None and joined.joined_at is not None
    assert web.get(f"/join/{token}").status_code == 303  # a second click still lands in the room


# --- customer chat --------------------------------------------------------------------------------
def test_chat_empty_text_is_400_fragment_with_message(web: TestClient, demo_runtime: Runtime) -> None:
    hx = HX | {"X-CSRF-Token": csrf_token(web, "/chat")}
    r = web.post("/chat/messages", data={"text": "   "}, headers=hx | {"Accept-Language": "en"})
    assert r.status_code == 400
    assert "<html" not in r.text and "Please type a message" in r.text
    assert r.headers["hx-retarget"] == "#chat-error"
    assert web.post("/chat/messages", data={}, headers=hx).status_code == 400  # missing field: same answer
    too_long = web.post("/chat/messages", data={"text": "a" * 6000}, headers=hx | {"Accept-Language": "en"})
    assert too_long.status_code == 400 and "longer than" in too_long.text
    zh_too_long = web.post("/chat/messages", data={"text": "a" * 6000}, headers=hx | {"Accept-Language": "zh"})
    assert zh_too_long.status_code == 400 and "超过" in zh_too_long.text and "longer" not in zh_too_long.text
    assert receive(demo_runtime, FAQ_EN).message_id  # nothing was half-written by the failures


def test_chat_answers_opens_ticket_and_keeps_the_conversation(web: TestClient) -> None:
    page = web.get("/chat?lang=en")  # public
    assert page.status_code == 200 and 'hx-post="/chat/messages"' in page.text
    hx = HX | {"X-CSRF-Token": csrf_token(web, "/chat")}
    first = web.post("/chat/messages", data={"text": FAQ_EN}, headers=hx)
    assert first.status_code == 200 and "reply-answer" in first.text and "Forgot password" in first.text
    second = web.post("/chat/messages", data={"text": COMPLAINT_ZH}, headers=hx)
    assert second.status_code == 200 and "reply-ticket" in second.text and "我们已为您创建工单" in second.text
    third = web.post("/chat/messages", data={"text": URGENT_EN}, headers=hx)
    # the emergency reply: the response has started, the case number, and the urgent SLA's contact time
    assert "reply-emergency" in third.text and "started our emergency response" in third.text
    assert re.search(r"Your case number is C\d{8}-\d{4,}", third.text) and "within 15 minutes" in third.text
    escaped = web.post("/chat/messages", data={"text": "<script>alert(1)</script> my password?"}, headers=hx)
    assert escaped.status_code == 200 and "<script>alert" not in escaped.text
    assert "&lt;script&gt;" in escaped.text
    page = web.get("/chat")  # after a reload the conversation is still there
    assert page.text.count("from-customer") == 4 and "reply-ticket" in page.text


def test_chat_starts_a_new_conversation_when_the_remembered_one_is_gone(web: TestClient,
                                                                       demo_runtime: Runtime) -> None:
    hx = HX | {"X-CSRF-Token": csrf_token(web, "/chat")}
    assert "reply-answer" in web.post("/chat/messages", data={"text": FAQ_EN}, headers=hx).text
    with demo_runtime.uow() as uow:  # e.g. removed by a retention job
        for model in (TriageResult, Message, Conversation):
            uow.session.execute(delete(model))
        uow.commit()
    r = web.post("/chat/messages", data={"text": FAQ_EN}, headers=hx | {"Accept-Language": "en"})
    assert r.status_code == 200 and "a new one has started" in r.text and "reply-answer" in r.text
    with demo_runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1


def test_static_files_are_served_from_the_package(web: TestClient) -> None:
    htmx = web.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "0BSD" in htmx.text[:300] and "htmx" in htmx.text
    assert web.get("/static/caredesk.css").status_code == 200
    assert web.get("/static/caredesk.js").status_code == 200
    page = web.get("/chat").text
    assert re.findall(r'<script src="([^"]+)"', page) == ["/static/htmx.min.js", "/static/caredesk.js"]
    assert "https://" not in page and "http://" not in page  # nothing fetched from elsewhere


# --- language -------------------------------------------------------------------------------------
def test_language_from_query_is_remembered_else_accept_language(web: TestClient) -> None:
    assert "员工登录" in web.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert "Staff sign-in" in web.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert "Staff sign-in" in web.get("/login?lang=en", headers={"Accept-Language": "zh-CN"}).text
    remembered = web.get("/chat", headers={"Accept-Language": "zh-CN"}).text
    assert "Customer service chat" in remembered and 'href="/chat?lang=zh"' in remembered
    assert "在线客服" in web.get("/chat?lang=zh").text


def test_parse_accept_language_and_choose() -> None:
    assert parse_accept_language("en;q=0.5, zh-CN;q=0.9, fr") == ["fr", "zh", "en"]
    assert choose_language(None, None, "fr, en;q=0.4") == "en"
    assert choose_language("xx", "en", "zh") == "en"
    assert choose_language(None, None, "") == "zh"
    assert choose_language(None, None, "en;q=bad") == "zh"


def test_translator_has_every_key_in_both_languages() -> None:
    # The catalogs' completeness (every key used, in both languages) is tests/unit/test_catalogs.py.
    assert Translator("en")("chat.send") and Translator("zh")("chat.send") != Translator("en")("chat.send")
    assert Translator("zh").label("urgent") == "紧急" and Translator("en").label("unknown-x") == "unknown-x"


def test_live_events_stream_forwards_ids_keeps_alive_and_unsubscribes() -> None:
    """The SSE generator on a real LiveBus: an event published from another thread arrives (ids and labels
    only), a keep-alive comment follows when idle, and a disconnect ends the stream and unsubscribes."""
    import asyncio
    import json
    import threading

    from starlette.requests import Request

    from caredesk.notify.live import LiveBus
    from caredesk.web.views_workbench import live_events

    async def scenario() -> list[str]:
        bus = LiveBus()
        disconnected = asyncio.Event()

        async def receive() -> dict[str, Any]:
            await disconnected.wait()
            return {"type": "http.disconnect"}

        scope = {"type": "http", "method": "GET", "path": "/workbench/events", "headers": []}
        request = Request(scope, receive)
        stream = live_events(request, bus, keepalive=0.0)
        chunks = [await anext(stream)]
        event = {"type": "message", "conversation_id": "c1", "decision": "answer", "text": "secret"}
        threading.Thread(target=bus.publish, args=(event,)).start()
        chunks.append(await anext(stream))
        chunks.append(await anext(stream))  # idle: a keep-alive comment
        assert len(bus._subscribers) == 1
        disconnected.set()
        chunks.extend([chunk async for chunk in stream])
        assert not bus._subscribers
        return chunks

    chunks = asyncio.run(scenario())
    assert chunks[0].startswith("retry: ")
    assert json.loads(chunks[1].removeprefix("data: ")) == {"type": "message", "conversation_id": "c1",
                                                            "decision": "answer"}
    assert chunks[2] == ": keep-alive\n\n" and len(chunks) == 3


def test_chat_echo_keeps_the_customers_punctuation_and_masks_the_card(web: TestClient,
                                                                     demo_runtime: Runtime) -> None:
    """Full-width ，？！ stay as the customer wrote them (they were shown as ASCII); a card number written in
    full-width digits is still found and masked, on the chat page and in what agents read."""
    token = csrf_token(web, "/chat")
    text = "我的银行卡６２２２０２１２３４５６７８９０１２８丢了，怎么办？！"
    r = web.post("/chat/messages", data={"text": text}, headers=HX | {"X-CSRF-Token": token})
    assert r.status_code == 200 and "丢了，怎么办？！" in r.text
    assert "1234567890" not in r.text and "１２３４５６７８９０" not in r.text
    with demo_runtime.session_factory() as s:
        shown = s.scalars(select(Message.text_masked).where(Message.direction == "in")).all()
    assert len(shown) == 1 and "丢了，怎么办？！" in shown[0] and "1234567890" not in shown[0]


def test_pages_show_times_in_the_centres_time_zone(web: TestClient, demo_runtime: Runtime) -> None:
    """Times were shown as bare UTC; the demo centre is in Asia/Shanghai (CAREDESK_DISPLAY_TIMEZONE)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    outcome = receive(demo_runtime, FAQ_EN)
    with demo_runtime.session_factory() as s:
        created = s.get(Conversation, outcome.conversation_id).created_at  # type: ignore[union-attr]
    local = created.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    submit_sign_in(web, "agent")
    page = web.get(f"/workbench/conversations/{outcome.conversation_id}").text
    assert local in page and " UTC" not in page


def test_conversation_page_says_in_chinese_which_compliance_rule_held_the_answer(web: TestClient,
                                                                                 demo_runtime: Runtime) -> None:
    from caredesk.knowledge.actions import do_save_entries
    from caredesk.knowledge.model import EntryDraft

    question = "What is the return on your Wealth Plus product?"
    doc = demo_runtime.triage(question)
    do_save_entries(demo_runtime.uow(), [EntryDraft(
        key="wealth-plus", language="en", question=question, similar_questions=("Wealth Plus interest rate",),
        answer="Wealth Plus pays 4.2% a year: 保本保息，稳赚不赔.", content_type=doc.label("content_type").label,
        problem_type=doc.label("problem_type").label, status="published")], actor="test",
        now=demo_runtime.clock.now())
    outcome = receive(demo_runtime, question, ref="web-cust-wealth")
    assert outcome.outgoing is not None and outcome.outgoing.blocked
    submit_sign_in(web, "agent")
    page = web.get(f"/workbench/conversations/{outcome.conversation_id}?lang=zh").text
    assert "外发合规规则拦截了答复（承诺保本保收益），转人工处理" in page
    hits = page.split('class="compliance-hits"')[1].split("</ul>")[0]
    assert "承诺保本保收益（「保本保息、稳赚不赔」）：销售理财和投资产品时不得承诺保本" in hits
    assert "guaranteed_returns" not in page and "Promising guaranteed" not in page
