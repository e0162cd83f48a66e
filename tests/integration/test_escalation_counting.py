"""Escalation counted as people count it, through the API on the demo bank: "three calls and nobody handled it",
then the regulator, then the press and a lawsuit raise the alarm with the shipped rule; ordinary conversations
do not; the same customer's phone call yesterday counts as a piece of evidence, one eight days ago does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.storage.orm import Alarm, Conversation
from tests.integration.test_escalation_alarm import alarm_notices, alarms

ESCALATING = ["我已经打了三次电话都没人处理，太过分了！", "再不解决我就去银保监会投诉，打12378！",
              "我要找电视台和报社曝光你们，还要起诉你们，赔偿我的损失！"]
YESTERDAY_CALL = "我的信用卡被重复扣款了，我要投诉，到现在也没人给我处理"
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai


def post(api: Any, text: str, ref: str, conversation_id: str | None = None, channel: str = "web"
         ) -> dict[str, Any]:
    r = api.post("/api/v1/messages", json={"text": text, "channel": channel, "customer_ref": ref,
                                           "conversation_id": conversation_id})
    assert r.status_code == 201, r.text
    return dict(r.json())


def conversation_of(api: Any, texts: list[str], ref: str, channel: str = "web") -> list[dict[str, Any]]:
    first = post(api, texts[0], ref, channel=channel)
    return [first] + [post(api, t, ref, first["conversation_id"], channel) for t in texts[1:]]


def test_escalation_counting_three_escalating_messages_raise_the_alarm(api: Any, demo_runtime: Runtime) -> None:
    demo_runtime.clock = FrozenClock(NOW)
    bodies = conversation_of(api, ESCALATING, "cust-12378")
    assert [b["alarm_id"] is not None for b in bodies] == [False, False, True]
    [alarm] = alarms(api, bodies[0]["conversation_id"])
    assert (alarm["count"], alarm["threshold"], alarm["level"]) == (3, 3, 3)
    assert alarm["details"]["levels"] == [2, 3, 3]  # the repeated calls count: level 2, the first message
    assert alarm["message_ids"] == [b["message_id"] for b in bodies]
    assert {"repeated", "regulator", "media", "lawsuit", "compensation"} <= set(alarm["details"]["types"])
    assert alarm["details"]["earlier_contacts"] == []
    assert {u for u, _ in alarm_notices(demo_runtime)} >= {"lead", "zheng.hui"}


def test_escalation_counting_ordinary_conversations_raise_none(api: Any, demo_runtime: Runtime) -> None:
    demo_runtime.clock = FrozenClock(NOW)
    polite = conversation_of(api, ["请问信用卡怎么激活？", "好的，谢谢！"], "cust-polite")
    mild = conversation_of(api, ["你们的服务太慢了，我要投诉"], "cust-mild")
    # the same customer again, politely: earlier contacts add to a conversation's evidence, never raise alone
    again = conversation_of(api, ["请问网点几点开门？", "谢谢"], "cust-mild")
    for bodies in (polite, mild, again):
        assert all(b["alarm_id"] is None for b in bodies)
    with demo_runtime.session_factory() as s:
        assert s.scalars(select(Alarm)).all() == []
    assert alarm_notices(demo_runtime) == []


def test_escalation_counting_yesterdays_phone_call_counts(api: Any, demo_runtime: Runtime) -> None:
    clock = FrozenClock(NOW - timedelta(days=1))
    demo_runtime.clock = clock
    call = post(api, YESTERDAY_CALL, "cust-called", channel="phone")
    clock.advance(timedelta(days=1))
    # eight days: the other customer's call is out of the 7-day window
    demo_runtime.clock = old = FrozenClock(NOW - timedelta(days=8))
    post(api, YESTERDAY_CALL, "cust-old-call", channel="phone")
    old.advance(timedelta(days=8))
    demo_runtime.clock = clock

    today = conversation_of(api, ESCALATING[1:], "cust-called")
    assert today[0]["conversation_id"] != call["conversation_id"]
    assert [b["alarm_id"] is not None for b in today] == [False, True]
    [alarm] = alarms(api, today[0]["conversation_id"])
    assert (alarm["count"], alarm["message_ids"]) == (3, [b["message_id"] for b in today])
    [earlier] = alarm["details"]["earlier_contacts"]
    assert (earlier["conversation_id"], earlier["channel"]) == (call["conversation_id"], "phone")
    assert earlier["level"] >= 1
    with demo_runtime.session_factory() as s:
        conversation = s.get(Conversation, today[0]["conversation_id"])
        assert conversation is not None and conversation.counted_complaints == 3

    # the same two messages without yesterday's call, or after a call eight days ago: no alarm
    for ref in ("cust-first-time", "cust-old-call"):
        bodies = conversation_of(api, ESCALATING[1:], ref)
        assert [b["alarm_id"] for b in bodies] == [None, None], ref
    # the phone call itself is not re-counted in its own conversation
    assert alarms(api, call["conversation_id"]) == []
