"""A server-sent events client for the tests: reads a real HTTP stream (httpx) in a thread and hands over each
event (id, type, JSON data) through a queue, so a test can wait for the next one with a timeout."""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["SseEvent", "SseStream"]


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    type: str
    data: dict[str, Any]


class SseStream:
    """`with SseStream(client, "/chat/events", headers=...) as s: s.next_event()`. Comment lines are skipped; the
    stream's end is `None` in the queue. Closing waits for the next line (a keep-alive comment: make them
    frequent in the test's settings)."""

    def __init__(self, client: httpx.Client, path: str, *, headers: dict[str, str] | None = None) -> None:
        self._client, self._path, self._headers = client, path, headers or {}
        self.status: int | None = None
        self._events: queue.Queue[SseEvent | None] = queue.Queue()
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> SseStream:
        self._thread.start()
        assert self._opened.wait(10), "the stream did not answer"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._path, headers=self._headers, timeout=10) as response:
                self.status = response.status_code
                self._opened.set()
                fields: dict[str, str] = {}
                # the server's keep-alive comments (set short in the tests) let this loop see the stop flag
                for line in response.iter_lines():
                    if self._stop.is_set():
                        break
                    if not line:
                        if "data" in fields:
                            self._events.put(SseEvent(fields.get("id"), fields.get("event", "message"),
                                                      json.loads(fields["data"])))
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass  # the test sees the stream end
        finally:
            self._opened.set()
            self._events.put(None)

    def next_event(self, timeout: float = 10.0, *, type: str | None = None) -> SseEvent:
        """The next event (of `type`, skipping others); AssertionError when none comes in time."""
        while True:
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {type or ''} event within {timeout} s") from None
            assert event is not None, "the stream ended"
            if type is None or event.type == type:
                return event

    def drain(self, seconds: float) -> list[SseEvent]:
        """Every event that arrives within `seconds`."""
        got: list[SseEvent] = []
        try:
            while True:
                event = self._events.get(timeout=seconds)
                if event is None:
                    break
                got.append(event)
        except queue.Empty:
            pass
        return got
