"""The chat's live events, per conversation. A customer's stream listens to its own conversation only; with
Redis every process hears every conversation's channel (`caredesk:chat:<id>`, one pattern subscription per
process) and hands each event to the streams of that conversation it serves. Events carry ids and labels, never
text: the stream reads a message from the database by its id, so nothing the customer or agent wrote crosses
Redis, and the workbench's own stream (notify/live.py) never sees chat events."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CHANNEL_PREFIX", "ChatBus", "ChatEvent", "Subscription"]

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "caredesk:chat:"
INBOX_SIZE = 200  # a stream this far behind is slow or gone; it catches up from the database on reconnect
TYPING_EVERY_SECONDS = 2.0  # at most one typing event per conversation and process in this time


@dataclass(frozen=True)
class ChatEvent:
    """`message` (message_id set), `state` (the order changed: the stream re-reads it) or `typing`."""

    type: str
    message_id: str | None = None

    def to_json(self) -> str:
        return json.dumps({"type": self.type, "message_id": self.message_id})

    @classmethod
    def from_json(cls, raw: str | bytes) -> ChatEvent:
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise ValueError("not a chat event")
        message_id = data.get("message_id")
        return cls(data["type"], message_id if isinstance(message_id, str) else None)


@dataclass(eq=False)
class Subscription:
    conversation_id: str
    loop: asyncio.AbstractEventLoop
    inbox: asyncio.Queue[ChatEvent]
    overflowed: bool = False  # events were dropped: the stream ends, the browser reconnects and replays


class ChatBus:
    def __init__(self, redis_url: str | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._redis_url = redis_url
        self._subscribers: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._client: Any = None
        self._clock = clock
        self._typing: dict[str, float] = {}
        self._ready = threading.Event()  # the Redis pattern subscription is in place

    def publish(self, conversation_id: str, event: ChatEvent) -> None:
        """Raises OSError when Redis cannot take it (the delivery task retries)."""
        if not self._redis_url:
            self._fan_out(conversation_id, event)
            return
        import redis

        if self._client is None:
            self._client = redis.Redis.from_url(self._redis_url, socket_timeout=5)
        try:
            self._client.publish(CHANNEL_PREFIX + conversation_id, event.to_json())
        except redis.RedisError as exc:
            raise ConnectionError(f"the chat event was not published: {type(exc).__name__}") from exc

    def publish_typing(self, conversation_id: str) -> bool:
        """The agent is typing; throttled here too (a reply box sends on every few keystrokes). False when
        dropped by the throttle."""
        now = self._clock()
        with self._lock:
            if now - self._typing.get(conversation_id, -TYPING_EVERY_SECONDS) < TYPING_EVERY_SECONDS:
                return False
            self._typing[conversation_id] = now
            if len(self._typing) > 10_000:  # forget conversations nobody typed in for a while
                self._typing = {k: t for k, t in self._typing.items() if now - t < TYPING_EVERY_SECONDS}
        self.publish(conversation_id, ChatEvent("typing"))
        return True

    def subscribe(self, conversation_id: str) -> Subscription:
        sub = Subscription(conversation_id, asyncio.get_running_loop(), asyncio.Queue(maxsize=INBOX_SIZE))
        with self._lock:
            self._subscribers.setdefault(conversation_id, set()).add(sub)
        self._ensure_listener()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subscribers.get(sub.conversation_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[sub.conversation_id]

    def wait_ready(self, timeout: float) -> bool:
        """Blocks until events published from now on reach this process (at once without Redis). A stream
        replays the database only after this, so nothing committed in between is missed."""
        return not self._redis_url or self._ready.wait(timeout)

    def listening(self) -> int:
        """Open streams in this process (for the tests and the operator's check)."""
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())

    def _fan_out(self, conversation_id: str, event: ChatEvent) -> None:
        with self._lock:
            subs = list(self._subscribers.get(conversation_id, ()))
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(_put, sub, event)
            except RuntimeError:  # that stream's loop is gone
                self.unsubscribe(sub)

    def _ensure_listener(self) -> None:
        if not self._redis_url or (self._thread and self._thread.is_alive()):
            return
        with self._lock:
            if self._thread and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._listen, name="caredesk-chat", daemon=True)
            self._thread.start()

    def _listen(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                self._listen_once(redis.Redis.from_url(self._redis_url or ""))
            except redis.RedisError as exc:
                # the streams open now may have missed events: end them, the browsers reconnect and replay
                log.warning("chat events from Redis interrupted (%s); retrying", type(exc).__name__)
                self._ready.clear()
                self._overflow_all()
                self._stop.wait(1.0)

    def _listen_once(self, client: Any) -> None:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(CHANNEL_PREFIX + "*")
        try:
            pubsub.get_message(timeout=1.0)  # reads the subscription's confirmation
            self._ready.set()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if not message or message.get("type") != "pmessage":
                    continue
                channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
                try:
                    event = ChatEvent.from_json(message["data"])
                except ValueError:
                    log.warning("ignored a chat event that is not one")
                    continue
                self._fan_out(channel.removeprefix(CHANNEL_PREFIX), event)
        finally:
            pubsub.close()

    def _overflow_all(self) -> None:
        with self._lock:
            subs = [s for group in self._subscribers.values() for s in group]
        for sub in subs:
            sub.loop.call_soon_threadsafe(_mark_overflowed, sub)

    def close(self) -> None:
        self._stop.set()


def _put(sub: Subscription, event: ChatEvent) -> None:
    try:
        sub.inbox.put_nowait(event)
    except asyncio.QueueFull:
        sub.overflowed = True


def _mark_overflowed(sub: Subscription) -> None:
    sub.overflowed = True
