"""Calling a connector: one operation, within a time budget, retried on a transient fault, behind its circuit
breaker, with a typed answer that never raises. Logs name the connector, the operation and the fault, never the
looked-up value (an order number, a phone, a customer's reference) nor the URL that carries it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from caredesk.integrations.connectors.breaker import Breakers, BreakerState, MemoryBreakers
from caredesk.integrations.connectors.config import OPERATIONS, ConnectorsFile, ConnectorSpec
from caredesk.integrations.http_json import (
    HttpJsonError,
    auth_headers,
    failure_reason,
    fill_url,
    map_fields,
    request_json,
)

__all__ = ["CallResult", "Connectors", "Failed", "Found", "Missing"]

log = logging.getLogger(__name__)
RETRY_PAUSE = 0.1  # seconds between two attempts: long enough for a restarted socket, short for a waiting customer


@dataclass(frozen=True)
class Found:
    connector: str
    fields: dict[str, Any]  # the mapped fields, typed


@dataclass(frozen=True)
class Missing:
    """The system answered 404: it has no such record (a mistyped order number)."""

    connector: str


@dataclass(frozen=True)
class Failed:
    connector: str
    reason: str  # safe to store and log: the fault's kind, no customer data
    circuit_open: bool = False  # not called at all: the breaker is open


CallResult = Found | Missing | Failed


def _transient(exc: Exception) -> bool:
    """Worth another attempt: the system may answer the next time (a timeout, a refused connection, a 5xx)."""
    if isinstance(exc, HttpJsonError):
        return exc.status is not None and exc.status >= 500
    return isinstance(exc, httpx.TransportError)


class Connectors:
    """The process's connectors: the file's configuration and the breakers' state."""

    def __init__(self, config: ConnectorsFile, breakers: Breakers | None = None, *,
                 environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.breakers: Breakers = breakers or MemoryBreakers()
        self._environ = environ
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        """One client for the process's calls (thread-safe): kept-alive connections, TLS set up once."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(follow_redirects=False,
                                            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5))
            return self._client

    @classmethod
    def none(cls) -> Connectors:
        """No connector: today's behaviour everywhere."""
        return cls(ConnectorsFile())

    def enabled(self, kind: str) -> ConnectorSpec | None:
        return self.config.enabled(kind)

    def state(self, spec: ConnectorSpec, now: float) -> BreakerState:
        return self.breakers.state(spec.name, spec.breaker, now)

    def call(self, spec: ConnectorSpec, operation: str, value: str, *, now: float, budget: float | None = None,
             body: dict[str, Any] | None = None) -> CallResult:
        """`operation` with its placeholder filled by `value`; `budget` bounds the whole call, retries included
        (None: the connector's timeout per attempt). `now` (the clock's, in seconds) is what the breaker sees."""
        placeholder = OPERATIONS[spec.kind].get(operation)
        op = getattr(spec.operations, operation, None) if placeholder else None
        if op is None or placeholder is None:
            return Failed(spec.name, f"the connector has no {operation} operation")
        if not self.breakers.allow(spec.name, spec.breaker, now):
            log.info("connector %s %s: not called, circuit open", spec.name, operation)
            return Failed(spec.name, "circuit open: the system failed repeatedly", circuit_open=True)
        environ = os.environ if self._environ is None else self._environ
        deadline = time.monotonic() + budget if budget is not None else float("inf")
        method = getattr(op, "method", "GET")
        reason = ""
        for attempt in range(spec.retries + 1):
            timeout = min(spec.timeout_seconds, deadline - time.monotonic())
            if timeout <= 0.05:
                reason = reason or "no time left within the budget"
                break
            try:
                url = fill_url(op.url, {placeholder: value}, base_url_env=spec.base_url_env, environ=environ)
                headers, basic = auth_headers(spec.auth, environ)
                answer = request_json(method, url, headers=headers, basic=basic, timeout=timeout, body=body,
                                      accept=frozenset({200, 201, 202, 204}), bodiless=frozenset({404}),
                                      user_agent="CareDesk connectors", client=self._http())
                if answer.status == 404:
                    result: CallResult = Missing(spec.name)
                elif method != "GET":
                    result = Found(spec.name, {})
                elif answer.data is None:
                    raise HttpJsonError("the response is empty")
                else:
                    result = Found(spec.name, map_fields(op.fields, answer.data))
                self.breakers.success(spec.name, spec.breaker, now)
                return result
            except (HttpJsonError, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                reason = failure_reason(exc, timeout)
                if not _transient(exc) or attempt == spec.retries:
                    break
                log.info("connector %s %s: attempt %d failed (%s), trying again", spec.name, operation,
                         attempt + 1, reason)
                time.sleep(min(RETRY_PAUSE, max(0.0, deadline - time.monotonic())))
        self.breakers.failure(spec.name, spec.breaker, now)
        log.warning("connector %s %s failed: %s", spec.name, operation, reason)
        return Failed(spec.name, reason)
