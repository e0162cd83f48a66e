"""Helpers for the alarm and incident tests: a real local HTTP receiver (for chat-ops webhooks, the SMS
gateway and the meeting system) and a demo runtime built with extra settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.demo.loader import do_load_demo
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, make_settings
from tests.support.http_thread import reply_json, serving


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Keeps every request; answers with the queued statuses first (then 200) and `reply` as JSON."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=lambda: {"errcode": 0})
    check: Any = None  # optional callable(Received) -> bool; False answers 401


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            box.requests.append(got)
            status = box.statuses.pop(0) if box.statuses else 200
            if box.check is not None and not box.check(got):
                status = 401
            reply_json(self, status, json.dumps(box.reply).encode())

        def do_GET(self) -> None:
            box.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
            reply_json(self, box.statuses.pop(0) if box.statuses else 200, json.dumps(box.reply).encode())

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Handler) as box.url:
        yield box


@contextmanager
def demo_runtime_with(db_url: str, var_dir: Path, mailbox: Mailbox, pipeline: TriagePipeline, **overrides: Any
                      ) -> Iterator[Runtime]:
    rt = build_runtime(make_settings(db_url, var_dir, mailbox, **overrides))
    rt.set_pipeline(pipeline)
    do_load_demo(rt.uow(), rt.clock)
    try:
        yield rt
    finally:
        _clean(rt)
        rt.engine.dispose()
