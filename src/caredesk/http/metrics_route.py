"""`GET /metrics`: Prometheus text format. The process's (or, under `caredesk serve --workers N`, every worker
process's, summed from the multiprocess directory) request counts and latencies, intake decisions, triage
latency and task failures, plus the system gauges read now (queue depth, open alarms, SLA breaches).

Who may scrape: `CAREDESK_METRICS_ACCESS=loopback` (default: only from this machine; behind a reverse proxy on
the same machine, do not route /metrics, or use a token) or `token` (`Authorization: Bearer
<CAREDESK_METRICS_TOKEN>`, from anywhere)."""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from caredesk.bootstrap.runtime import Runtime
from caredesk.observability.gauges import SystemCollector
from caredesk.observability.metrics import metrics, multiprocess_dir

__all__ = ["router"]

router = APIRouter(tags=["health"])


def _refusal(rt: Runtime, request: Request) -> JSONResponse | None:
    settings = rt.settings
    if settings.metrics_access == "token":
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
            return None
        return JSONResponse({"code": "unauthenticated", "message": "use Authorization: Bearer <metrics token>"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})
    host = request.client.host if request.client else ""
    try:
        if ip_address(host).is_loopback:
            return None
    except ValueError:
        if host == "testclient":  # Starlette's test client: in-process, so this machine
            return None
    return JSONResponse({"code": "forbidden", "message": "metrics are served to this machine only"},
                        status_code=403)


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    rt: Runtime = request.app.state.runtime
    refused = _refusal(rt, request)
    if refused is not None:
        return refused
    directory = multiprocess_dir()
    if directory is not None:
        process = CollectorRegistry()
        MultiProcessCollector(process, path=str(directory))  # type: ignore[no-untyped-call]
    else:
        process = metrics().registry
    system = CollectorRegistry(auto_describe=False)
    system.register(SystemCollector(rt))
    return Response(generate_latest(process) + generate_latest(system), media_type=CONTENT_TYPE_LATEST)
