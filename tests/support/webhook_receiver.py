"""A real HTTP receiver for outgoing webhooks (a local server thread): keeps every request, checks the
signature with the secret the way a receiver must (computed here with hmac, not with CareDesk's code), and
answers with queued statuses (then 200), optionally after a delay (a slow endpoint)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_thread import reply_json, serving


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        fields = dict(part.split("=", 1) for part in self.headers["x-caredesk-signature"].split(","))
        expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(fields["v1"], expected)


@dataclass
class WebhookReceiver:
    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    always: int = 200  # once `statuses` is used up
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self._lock:
            return self.statuses.pop(0) if self.statuses else self.always

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.hits) >= count:
                return list(self.hits)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhook requests, got {len(self.hits)}")

    def of_type(self, event_type: str) -> list[Hit]:
        return [h for h in self.hits if h.headers.get("x-caredesk-event") == event_type]


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    box = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if box.delay:
                time.sleep(box.delay)
            status = box.next_status()
            with box._lock:
                box.hits.append(Hit({k.lower(): v for k, v in self.headers.items()}, body, status))
            with contextlib.suppress(OSError):  # the client gave up (a timeout test)
                reply_json(self, status, b'{"ok": true}')

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Handler) as url:
        box.url = f"{url}/hooks/caredesk"
        yield box
