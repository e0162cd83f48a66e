"""Live events for the workbench (server-sent events). In one process events fan out in memory; with Redis
they go through pub/sub so every API process sees every event."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

__all__ = ["LiveBus"]

log = logging.getLogger(__name__)
CHANNEL = "caredesk:live"


class LiveBus:
    def __init__(self, redis_url: str | None = None) -> None:
        self._redis_url = redis_url
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._client: Any = None

    def publish(self, event: dict[str, Any]) -> None:
        if self._redis_url:
            if self._client is None:
                import redis

                self._client = redis.Redis.from_url(self._redis_url)
            self._client.publish(CHANNEL, json.dumps(event, ensure_ascii=False))
        else:
            self._fan_out(event)

    def _fan_out(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # that subscriber's loop is gone
                self.unsubscribe((loop, queue))

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]:
        handle = (asyncio.get_running_loop(), asyncio.Queue[dict[str, Any]](maxsize=1000))
        with self._lock:
            self._subscribers.add(handle)
        self._ensure_listener()
        return handle

    def unsubscribe(self, handle: tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]) -> None:
        with self._lock:
            self._subscribers.discard(handle)

    def _ensure_listener(self) -> None:
        if not self._redis_url or (self._thread and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._listen, name="caredesk-live", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        import redis

        client = redis.Redis.from_url(self._redis_url or "")
        pubsub: redis.client.PubSub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CHANNEL)
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=1.0)
            if message and message.get("type") == "message":
                try:
                    self._fan_out(json.loads(message["data"]))
                except ValueError:
                    log.warning("ignored a live event that is not JSON")
        pubsub.close()

    def close(self) -> None:
        self._stop.set()
