"""Real systems for the connector tests: a small FastAPI app under uvicorn on a loopback port standing in for a
CRM, an order system and a logistics tracker. Each can answer, fail with 503, sleep past a timeout, answer
garbage (not JSON) or a field of the wrong type. It keeps every request's method, path, headers and body."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.support.serving import uvicorn_in_thread

Mode = Literal["ok", "fail", "slow", "garbage", "wrong_type"]

ORDERS: dict[str, dict[str, Any]] = {
    "123456": {"order": {"status": "SHIPPED", "updated_at": "2026-12-01 10:00", "delivery_eta": "2026-12-03",
                         "buyer_phone": "13912345678"}},
}
PARCELS: dict[str, dict[str, Any]] = {
    "SF1234567890": {"result": {"state": "IN_TRANSIT",
                                "traces": [{"place": "上海转运中心", "time": "2026-12-01 08:30"}]}},
}
CUSTOMERS: dict[str, dict[str, Any]] = {
    "C-CRM-1": {"data": {"name": "王小明", "level": "GOLD", "id_number": "110101199003071234"}},
}


@dataclass
class Request_:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


@dataclass
class ConnectorServer:
    url: str = ""
    mode: Mode = "ok"
    slow_seconds: float = 1.5
    requests: list[Request_] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, prefix: str = "/") -> list[Request_]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self.mode = "ok"


def _app(state: ConnectorServer) -> Any:
    app = FastAPI()

    async def keep(request: Request) -> None:
        raw = await request.body()
        with state._lock:
            state.requests.append(Request_(request.method, request.url.path, request.url.query,
                                           {k.lower(): v for k, v in request.headers.items()},
                                           json.loads(raw) if raw else None))

    async def answer(record: dict[str, Any] | None, wrong: dict[str, Any]) -> Response:
        if state.mode == "fail":
            return JSONResponse({"error": "backend down"}, status_code=503)
        if state.mode == "slow":
            await asyncio.sleep(state.slow_seconds)  # the server stays free for the other requests
        if state.mode == "garbage":
            return PlainTextResponse("<html>502 Bad Gateway</html>")
        if record is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        if state.mode == "wrong_type":
            return JSONResponse(wrong)
        return JSONResponse(record)

    @app.get("/orders/{number}")
    async def order(number: str, request: Request) -> Response:
        await keep(request)
        return await answer(ORDERS.get(number), {"order": {"status": {"code": 3}}})

    @app.get("/track")
    async def track(no: str, request: Request) -> Response:
        await keep(request)
        return await answer(PARCELS.get(no), {"result": {"state": ["a", "b"]}})

    @app.get("/customers/{ref}")
    async def customer(ref: str, request: Request) -> Response:
        await keep(request)
        return await answer(CUSTOMERS.get(ref), {"data": {"name": {"first": "x"}}})

    @app.patch("/customers/{ref}")
    async def update(ref: str, request: Request) -> Response:
        await keep(request)
        if state.mode == "fail":
            return JSONResponse({"error": "backend down"}, status_code=503)
        return Response(status_code=204)

    return app


@contextmanager
def connector_server(port: int) -> Iterator[ConnectorServer]:
    state = ConnectorServer(url=f"http://127.0.0.1:{port}")
    with uvicorn_in_thread(_app(state), port, "connector server", log_level="warning"):
        # the first request to a fresh app is slow (routes and models built on first use): not the tests' timeouts
        httpx.get(f"{state.url}/orders/warm-up", timeout=10)
        state.reset()
        yield state


def connectors_yaml(*, orders: bool = True, logistics: bool = True, crm: bool = True, timeout: float = 2.0,
                    retries: int = 1, failures: int = 3, cooldown: float = 30) -> str:
    """A connectors file for the server (addresses from CONN_URL, secrets from CONN_* variables)."""
    return f"""
connectors:
  - name: crm
    kind: crm
    enabled: {str(crm).lower()}
    base_url_env: CONN_URL
    auth: {{kind: bearer, token_env: CONN_CRM_TOKEN}}
    timeout_seconds: {timeout}
    retries: {retries}
    breaker: {{failures: {failures}, window_seconds: 60, cooldown_seconds: {cooldown}}}
    operations:
      lookup_by_ref:
        url: /customers/{{customer_ref}}
        fields:
          name: {{path: data.name}}
          tier: {{path: data.level}}
      update:
        url: /customers/{{customer_ref}}
        body:
          complaint: flags.complaint
          complaint_level: flags.level
          case_number: last_case
    tiers: {{GOLD: gold, VIP: private}}
  - name: shop
    kind: orders
    enabled: {str(orders).lower()}
    base_url_env: CONN_URL
    auth: {{kind: header, header: X-Api-Key, value_env: CONN_ORDERS_KEY}}
    timeout_seconds: {timeout}
    retries: {retries}
    breaker: {{failures: {failures}, window_seconds: 60, cooldown_seconds: {cooldown}}}
    operations:
      status:
        url: /orders/{{order_number}}
        fields:
          status: {{path: order.status}}
          updated_at: {{path: order.updated_at}}
          eta: {{path: order.delivery_eta, type: date}}
    labels:
      SHIPPED: {{zh: 已发货, en: shipped}}
  - name: parcels
    kind: logistics
    enabled: {str(logistics).lower()}
    base_url_env: CONN_URL
    auth: {{kind: basic, username_env: CONN_LOG_USER, password_env: CONN_LOG_PASSWORD}}
    timeout_seconds: {timeout}
    retries: {retries}
    breaker: {{failures: {failures}, window_seconds: 60, cooldown_seconds: {cooldown}}}
    operations:
      status:
        url: /track?no={{tracking_number}}
        fields:
          status: {{path: result.state}}
          location: {{path: "result.traces[0].place"}}
    labels:
      IN_TRANSIT: {{zh: 运输中, en: in transit}}
"""


ENV = {"CONN_CRM_TOKEN": "crm-t0ken", "CONN_ORDERS_KEY": "orders-key", "CONN_LOG_USER": "log-user",
       "CONN_LOG_PASSWORD": "log-pass"}
