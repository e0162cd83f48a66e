"""One pure ASGI middleware, outermost, for every request: a request id (the caller's well-formed
X-Request-ID, else a new one; returned in the response header and set on every log line of the request),
Prometheus counts and latencies by route template (never the raw path: ids would explode the series), and in
JSON log mode one access line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caredesk.observability.logs import request_id_var, route_var
from caredesk.observability.metrics import metrics

__all__ = ["RequestObservation", "route_template"]

_log = logging.getLogger("caredesk.http.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The matched route's full path template (`/api/v1/work-orders/{order_id}`), or UNMATCHED. FastAPI gives the
    route as declared in its router, without the prefixes of the routers that include it: those are the
    request path's leading segments, one per segment the template does not cover."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str) or not template.startswith("/"):
        return UNMATCHED
    parts = str(scope.get("path", "")).split("/")
    covered = template.count("/")
    return "/".join(parts[:max(len(parts) - covered, 1)]) + template if len(parts) > covered else template


class RequestObservation:
    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        id_token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode("ascii"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_template(scope), str(scope.get("method", ""))
            m = metrics()
            m.requests.labels(method, route, str(status)).inc()
            m.request_seconds.labels(method, route).observe(seconds)
            if self.access_log:
                route_token = route_var.set(route)
                try:
                    _log.info("%s %s %d", method, route, status,
                              extra={"method": method, "status": status, "duration_ms": round(seconds * 1000, 1)})
                finally:
                    route_var.reset(route_token)
            request_id_var.reset(id_token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            try:
                return str(value.decode("ascii"))
            except UnicodeDecodeError:
                return None
    return None
