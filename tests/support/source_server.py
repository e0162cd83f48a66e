"""A real outside source for the profile-source tests: a small FastAPI app under uvicorn on a loopback port that
answers customer records (with more than CareDesk maps), fails with 500, sleeps past a timeout, or holds the
request until the test lets it go. It keeps every request's path and headers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.serving import uvicorn_in_thread

# what the source knows: more than CareDesk maps (id number, notes), which must never be stored
RECORDS: dict[str, dict[str, Any]] = {
    "C-100": {"customer": {"segment": "wealth", "opened_on": "2015-03-01T08:00:00+08:00",
                           "id_number": "110101199003071234", "notes": "VIP, prefers mornings"},
              "products": [{"code": "mortgage"}, {"code": "credit_card"}],
              "summary": {"open_loans": "2", "balance": 1523.5}},
}


@dataclass
class SourceServer:
    url: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    failing: bool = False  # /records answers 500 while set
    slow_seconds: float = 2.0
    arrived: threading.Event = field(default_factory=threading.Event)  # a /held request came in
    release: threading.Event = field(default_factory=threading.Event)  # lets /held requests answer
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, prefix: str = "/") -> list[tuple[str, dict[str, str]]]:
        with self._lock:
            return [r for r in self.requests if r[0].startswith(prefix)]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self.failing = False
        self.arrived.clear()
        self.release.clear()


def _app(state: SourceServer) -> Any:
    app = FastAPI()

    def keep(request: Request) -> None:
        with state._lock:
            state.requests.append((request.url.path, {k.lower(): v for k, v in request.headers.items()}))

    @app.get("/records/{ref}")
    def record(ref: str, request: Request) -> Any:
        keep(request)
        if state.failing:
            return JSONResponse({"error": "backend down"}, status_code=500)
        if ref not in RECORDS:
            return JSONResponse({"error": "not found"}, status_code=404)
        return RECORDS[ref]

    @app.get("/broken/{ref}")
    def broken(ref: str, request: Request) -> Any:
        keep(request)
        return {"customer": {"segment": ["not", "text"]}, "summary": {"open_loans": "many"}}

    @app.get("/slow/{ref}")
    def slow(ref: str, request: Request) -> Any:
        keep(request)
        time.sleep(state.slow_seconds)
        return RECORDS.get(ref, {})

    @app.get("/held/{ref}")
    def held(ref: str, request: Request) -> Any:
        keep(request)
        state.arrived.set()
        state.release.wait(30)
        return RECORDS.get(ref, {})

    return app


@contextmanager
def source_server(port: int) -> Iterator[SourceServer]:
    state = SourceServer(url=f"http://127.0.0.1:{port}")
    with uvicorn_in_thread(_app(state), port, "source server", log_level="warning"):
        try:
            yield state
        finally:
            state.release.set()
