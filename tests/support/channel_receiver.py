"""A real HTTP server standing in for a channel provider's send API, and a channel sender that posts to it:
the notices and surveys that reach the "provider" are what the customer would get."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from caredesk.channels.outbound import Outgoing, SendRefused, Sent
from tests.support.http_thread import reply_json, serving

__all__ = ["HttpSender", "Receiver", "channel_receiver"]


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False  # answer 400 (a provider refusing the address)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.received if m["kind"] == kind]


@contextmanager
def channel_receiver() -> Iterator[Receiver]:
    box = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if box.refuse:
                self.send_response(400)
                self.end_headers()
                return
            with box._lock:
                box.received.append(body)
                reply = json.dumps({"id": f"ext-{len(box.received)}"}).encode()
            reply_json(self, 200, reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        box.url = f"{url}/send"
        yield box


class HttpSender:
    """Posts each message as JSON; a 4xx is a permanent refusal, anything else that fails is transient."""

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, out: Outgoing) -> Sent:
        body = json.dumps({"to": out.address, "account": out.account, "text": out.text, "kind": out.kind,
                           "language": out.language, "case": out.case_number}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return Sent(json.loads(response.read())["id"])
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                raise SendRefused(f"provider answered {exc.code}") from None
            raise OSError(f"provider answered {exc.code}") from None
