"""The chat's live bus in one process (no Redis): an event reaches the streams of its own conversation only,
the agent's typing is throttled, and what crosses Redis is ids and labels only."""

from __future__ import annotations

import asyncio
import json

import pytest

from caredesk.channels.livechat.bus import ChatBus, ChatEvent


def test_livechat_bus_delivers_to_the_conversations_streams_only() -> None:
    async def run() -> tuple[list[ChatEvent], int]:
        bus = ChatBus()
        mine, also_mine, other = bus.subscribe("a" * 32), bus.subscribe("a" * 32), bus.subscribe("b" * 32)
        bus.publish("a" * 32, ChatEvent("message", "1" * 32))
        await asyncio.sleep(0.01)  # the hand-over runs on the loop (call_soon_threadsafe)
        got = [mine.inbox.get_nowait(), also_mine.inbox.get_nowait()]
        assert other.inbox.empty()
        for sub in (mine, also_mine, other):
            bus.unsubscribe(sub)
        return got, bus.listening()

    got, left = asyncio.run(run())
    assert got == [ChatEvent("message", "1" * 32)] * 2
    assert left == 0


def test_livechat_bus_typing_is_throttled_per_conversation() -> None:
    now = [100.0]
    bus = ChatBus(clock=lambda: now[0])
    assert bus.publish_typing("a" * 32) is True
    assert bus.publish_typing("a" * 32) is False  # the same second: dropped
    assert bus.publish_typing("b" * 32) is True  # another conversation has its own allowance
    now[0] += 2.0
    assert bus.publish_typing("a" * 32) is True


def test_livechat_bus_overflow_marks_the_stream_for_a_replay() -> None:
    async def run() -> bool:
        bus = ChatBus()
        sub = bus.subscribe("a" * 32)
        for _ in range(sub.inbox.maxsize + 1):
            bus.publish("a" * 32, ChatEvent("typing"))
        await asyncio.sleep(0.01)
        return sub.overflowed

    assert asyncio.run(run()) is True  # the stream ends; the browser reconnects and replays from its last id


def test_livechat_event_carries_ids_only() -> None:
    event = ChatEvent("message", "1" * 32)
    assert ChatEvent.from_json(event.to_json()) == event
    assert set(json.loads(event.to_json())) == {"type", "message_id"}
    for bad in ("[]", '{"message_id": "x"}', "not json"):
        with pytest.raises(ValueError):
            ChatEvent.from_json(bad)
