"""The customer's live chat over real HTTP (uvicorn, httpx): a hand-off queues the customer and says so, the
agent's reply reaches the open stream as an event whose id is the message id, a reconnect with Last-Event-ID
replays what was missed exactly once, and one customer's stream never carries another's conversation."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from caredesk.storage.orm import MessageDelivery, WorkOrder
from caredesk.workorders.replies import do_reply
from tests.support.sse import SseStream
from tests.support.web_session import HX, csrf_token, sign_in

if TYPE_CHECKING:
    from collections.abc import Iterator

    from caredesk.bootstrap.runtime import Runtime
    from tests.conftest import LiveServer

HANDOFF = "转人工"
FAQ_EN = "How do I reset my online banking password?"


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    live_server.runtime.settings.livechat_keepalive_seconds = 0.5  # the test client's reader checks in often
    return live_server


def customer(server: LiveServer) -> httpx.Client:
    """A customer's browser session on the chat page (its cookie jar holds the chat session)."""
    client = httpx.Client(base_url=server.url, timeout=20)
    client.headers["X-CSRF-Token"] = csrf_token(client, "/chat?lang=en")  # type: ignore[arg-type]
    return client


def say(client: httpx.Client, text: str) -> str:
    r = client.post("/chat/messages", data={"text": text}, headers=HX)
    assert r.status_code == 200, r.text
    return r.text


def latest_chat_order(rt: Runtime) -> WorkOrder:
    with rt.session_factory() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.channel == "chat").order_by(WorkOrder.id.desc()))
        assert order is not None
        s.expunge(order)
        return order


def reply(rt: Runtime, order_id: str, text: str) -> str:
    outcome = do_reply(rt, order_id, text=text, actor="staff:agent", now=rt.clock.now())
    assert outcome.message_id
    return outcome.message_id


@pytest.fixture
def chat(server: LiveServer) -> Iterator[httpx.Client]:
    client = customer(server)
    yield client
    client.close()


def test_livechat_handoff_queues_and_agent_reply_arrives_live(server: LiveServer, chat: httpx.Client) -> None:
    rt = server.runtime
    answer = say(chat, HANDOFF)
    assert "reply-handoff" in answer  # the hand-off is acknowledged in the chat (it was silent before)
    order = latest_chat_order(rt)
    with SseStream(chat, "/chat/events") as stream:
        assert stream.status == 200
        state = stream.next_event(type="state")
        assert state.id is None  # the state is sent again on every connect: it moves no cursor
        assert state.data["case_number"] == order.number
        assert state.data["status"] in ("queued", "assigned")
        if state.data["status"] == "queued":
            assert "Waiting for an agent" in state.data["html"]
        first = reply(rt, order.id, "您好，我是客服小王，请问有什么可以帮您？")
        event = stream.next_event(type="message")
        assert (event.id, event.data["id"]) == (first, first)
        assert "客服小王" in event.data["html"] and "from-agent" in event.data["html"]
    with rt.session_factory() as s:
        delivery = s.scalar(select(MessageDelivery).where(MessageDelivery.message_id == first))
        assert delivery is not None and (delivery.channel, delivery.status) == ("chat", "sent")


def test_livechat_reconnect_replays_missed_replies_once(server: LiveServer, chat: httpx.Client) -> None:
    rt = server.runtime
    say(chat, HANDOFF)
    order = latest_chat_order(rt)
    first = reply(rt, order.id, "first reply")
    with SseStream(chat, "/chat/events") as stream:  # no cursor: the whole chat is replayed
        assert stream.next_event(type="message").id == first
    # the stream is down; the agent answers twice meanwhile
    second, third = reply(rt, order.id, "second reply"), reply(rt, order.id, "third reply")
    with SseStream(chat, "/chat/events", headers={"Last-Event-ID": first}) as stream:
        got = [e for e in stream.drain(3.0) if e.type == "message"]
    assert [e.id for e in got] == [second, third]  # neither lost nor repeated, in order
    assert "second reply" in got[0].data["html"]
    # the page's own cursor (?after=) for its first connect; the header wins when both are there
    with SseStream(chat, f"/chat/events?after={first}", headers={"Last-Event-ID": third}) as stream:
        assert [e for e in stream.drain(2.0) if e.type == "message"] == []
    with SseStream(chat, f"/chat/events?after={second}") as stream:
        assert [e.id for e in stream.drain(2.0) if e.type == "message"] == [third]


def test_livechat_stream_is_the_customers_own(server: LiveServer, chat: httpx.Client) -> None:
    rt = server.runtime
    say(chat, HANDOFF)
    mine = latest_chat_order(rt)
    with contextlib.closing(customer(server)) as other:
        say(other, HANDOFF)
        theirs = latest_chat_order(rt)
        assert theirs.conversation_id != mine.conversation_id
        with SseStream(other, "/chat/events") as other_stream, SseStream(chat, "/chat/events") as my_stream:
            reply(rt, mine.id, "only for the first customer")
            assert "only for the first customer" in my_stream.next_event(type="message").data["html"]
            assert [e for e in other_stream.drain(2.0) if e.type == "message"] == []


def test_livechat_stream_refusals(server: LiveServer, chat: httpx.Client) -> None:
    with SseStream(chat, "/chat/events") as stream:
        assert stream.status == 204  # no conversation in this session yet: nothing to follow
    say(chat, FAQ_EN)
    r = chat.get("/chat/events", headers={"Last-Event-ID": "not-an-id"})
    assert r.status_code == 400 and r.headers.get("x-caredesk-error", "invalid_input") == "invalid_input"
    # a stranger's browser (no session) follows nothing, whatever id it names
    with httpx.Client(base_url=server.url, timeout=10) as stranger, SseStream(stranger, "/chat/events") as stream:
        assert stream.status == 204


def test_livechat_agent_typing_and_viewing_reach_the_chat(server: LiveServer, chat: httpx.Client) -> None:
    rt = server.runtime
    say(chat, HANDOFF)
    order = latest_chat_order(rt)
    with contextlib.closing(httpx.Client(base_url=server.url, timeout=20)) as agent:
        headers = sign_in(agent, "agent")  # type: ignore[arg-type]
        transcript = agent.get(f"/workbench/conversations/{order.conversation_id}/transcript", headers=HX)
        assert transcript.status_code == 200 and HANDOFF in transcript.text  # the conversation so far
        with SseStream(chat, "/chat/events") as stream:
            stream.next_event(type="state")
            typing = f"/workbench/conversations/{order.conversation_id}/typing"
            assert agent.post(typing, headers=headers).status_code == 204
            assert agent.post(typing, headers=headers).status_code == 204  # within the throttle: not sent
            assert agent.post(f"/workbench/work-orders/{order.id}/viewers", headers=headers).status_code == 200
            events = stream.drain(2.5)
        assert [e.type for e in events if e.type in ("typing", "viewing")] == ["typing", "viewing"]
        assert "opened your request" in next(e for e in events if e.type == "viewing").data["html"]
        # without the session's CSRF token the typing hook is refused (a page elsewhere cannot post it)
        assert agent.post(typing, headers=HX).status_code == 403
    with contextlib.closing(httpx.Client(base_url=server.url, timeout=20)) as anonymous:
        r = anonymous.post(f"/workbench/conversations/{order.conversation_id}/typing",
                           headers={"X-CSRF-Token": csrf_token(anonymous, "/chat")}, follow_redirects=False)  # type: ignore[arg-type]
        assert r.status_code in (303, 401)  # sign in first
