"""One customer's live chat stream: subscribe to the conversation's events first, then replay from the database
what came after the client's last event id, then pass on live events until the stream's lifetime ends (the
browser reconnects with `Last-Event-ID`, and the replay starts there). Typed items out; the web layer writes
them as server-sent events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlalchemy.orm import Session

from caredesk.channels.livechat.bus import ChatBus
from caredesk.channels.livechat.state import (
    REPLAY_LIMIT,
    ChatMessage,
    ChatState,
    chat_message,
    chat_state,
    messages_after,
)

__all__ = ["KeepAlive", "StreamItem", "Typing", "Viewing", "chat_stream"]

T = TypeVar("T")
READY_SECONDS = 2.0


@dataclass(frozen=True)
class Typing:
    """The agent is typing (not replayed: it is over by the time a client reconnects)."""


@dataclass(frozen=True)
class Viewing:
    """An agent has the conversation's order open (its page announces itself every 20 s)."""


@dataclass(frozen=True)
class KeepAlive:
    """Nothing happened for a while: a comment line keeps proxies from closing the stream."""


StreamItem = ChatMessage | ChatState | Typing | Viewing | KeepAlive


async def chat_stream(bus: ChatBus, sessions: Callable[[], Session], conversation_id: str, after: str | None, *,
                      is_disconnected: Callable[[], Awaitable[bool]], lifetime: float, keepalive: float,
                      state_every: float) -> AsyncIterator[StreamItem]:
    """`state_every`: the order's state is read again this often (a queue place moves when other customers'
    orders are taken, which this conversation hears nothing about)."""

    async def read(query: Callable[[Session], T]) -> T:
        def run() -> T:
            with sessions() as session:  # a short session per read, never held for the stream's life
                return query(session)

        return await asyncio.to_thread(run)

    sub = bus.subscribe(conversation_id)
    try:
        await asyncio.to_thread(bus.wait_ready, READY_SECONDS)
        sent: set[str] = set()
        cursor = after
        while True:  # the replay, in pages
            page = await read(partial(messages_after, conversation_id=conversation_id, after=cursor))
            for message in page:
                sent.add(message.id)
                yield message
            if len(page) < REPLAY_LIMIT:
                break
            cursor = page[-1].id
        state = await read(lambda s: chat_state(s, conversation_id))
        yield state
        started = last_sent = last_state = time.monotonic()
        while time.monotonic() - started < lifetime and not sub.overflowed:
            try:
                event = await asyncio.wait_for(sub.inbox.get(), timeout=1.0)
            except TimeoutError:
                if await is_disconnected():
                    return
                now = time.monotonic()
                if now - last_state >= state_every:
                    last_state = now
                    fresh = await read(lambda s: chat_state(s, conversation_id))
                    if fresh != state:
                        state, last_sent = fresh, now
                        yield state
                if now - last_sent >= keepalive:
                    last_sent = now
                    yield KeepAlive()
                continue
            item: StreamItem | None = None
            if event.type == "message" and event.message_id and event.message_id not in sent:
                found = await read(partial(chat_message, conversation_id=conversation_id,
                                           message_id=event.message_id))
                if found is not None:
                    sent.add(found.id)
                    item = found
            elif event.type == "state":
                fresh = await read(lambda s: chat_state(s, conversation_id))
                last_state = time.monotonic()
                if fresh != state:
                    item = state = fresh
            elif event.type == "typing":
                item = Typing()
            elif event.type == "viewing":
                item = Viewing()
            if item is not None:
                last_sent = time.monotonic()
                yield item
    finally:
        bus.unsubscribe(sub)
