"""Probes for a load balancer or an orchestrator, without authentication and without customer data:
`/health/live` says the process answers; `/health/ready` says it can serve (the database answers, and Redis
when one is configured), else 503 with which dependency failed."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from caredesk.runtime import Runtime

__all__ = ["router"]

router = APIRouter(prefix="/health", tags=["health"])
_log = logging.getLogger("caredesk.http.health")


@router.get("/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


def _database(rt: Runtime) -> str:
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure means: not ready
        _log.warning("readiness: database unavailable (%s)", type(exc).__name__)
        return "unavailable"


def _redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
        return "ok"
    except redis.RedisError as exc:
        _log.warning("readiness: Redis unavailable (%s)", type(exc).__name__)
        return "unavailable"
    finally:
        client.close()


@router.get("/ready", responses={503: {"description": "a dependency does not answer (`details.checks`)"}})
def ready(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.runtime
    checks = {"database": _database(rt)}
    if rt.settings.redis_url:
        checks["redis"] = _redis(rt.settings.redis_url)
    if all(state == "ok" for state in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse({"code": "service_unavailable", "message": "not ready: a dependency does not answer",
                         "details": {"checks": checks}}, status_code=503, headers={"Retry-After": "5"})
