"""Monitoring information for an emergency's context record, from a pluggable source. The built-in source
adds nothing beyond CareDesk's own open alarms (which the context always carries); the HTTP JSON source asks
the bank's monitoring system (GET with the content type) and never holds up the response: a failure is
recorded in the context instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import httpx

if TYPE_CHECKING:
    from caredesk.settings import Settings

__all__ = ["BuiltinMonitoring", "HttpJsonMonitoring", "MonitoringSource", "build_monitoring_source"]


class MonitoringSource(Protocol):
    name: str

    def snapshot(self, *, content_type: str) -> dict[str, Any]: ...


class BuiltinMonitoring:
    name = "builtin"

    def snapshot(self, *, content_type: str) -> dict[str, Any]:
        return {}


class HttpJsonMonitoring:
    name = "http_json"

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 2.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def snapshot(self, *, content_type: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = httpx.get(self.url, params={"content_type": content_type}, headers=headers,
                                 timeout=self.timeout)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"error": f"monitoring source not available: {type(exc).__name__}"}
        return {"system": data} if isinstance(data, dict) else {"error": "monitoring source answered no object"}


def build_monitoring_source(settings: Settings) -> MonitoringSource:
    if settings.monitoring_url:
        return HttpJsonMonitoring(settings.monitoring_url, settings.monitoring_token)
    return BuiltinMonitoring()
