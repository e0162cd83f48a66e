"""Probes for a load balancer or an orchestrator, without authentication and without customer data.

`/healthz` (and its older name `/health/live`) says the process answers: no I/O at all. `/readyz` (and
`/health/ready`) says it can serve: the database answers, the task queue's store answers (Redis when one is
configured: asked on the queue's own pooled connection, never a new connection per probe), and the triage
model is loaded; else 503 with `details.checks` naming the part that failed."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from caredesk.bootstrap.runtime import Runtime

__all__ = ["readiness", "router"]

router = APIRouter(tags=["health"])
_log = logging.getLogger("caredesk.http.health")
_NOT_READY: dict[int | str, dict[str, Any]] = {503: {"description": "a dependency does not answer (`details.checks`)"}}


def _database(rt: Runtime) -> str:
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure means: not ready
        _log.warning("readiness: database unavailable (%s)", type(exc).__name__)
        return "unavailable"


def _queue(rt: Runtime) -> str:
    try:
        rt.queue.depth()
        return "ok"
    except Exception as exc:
        _log.warning("readiness: task queue unavailable (%s)", type(exc).__name__)
        return "unavailable"


def readiness(rt: Runtime) -> dict[str, str]:
    """Each part's state, "ok" or why not. The queue's store is Redis when one is configured (reported
    as `redis`), else the SQLite file under var/ (`queue`). The model is loaded at start by `caredesk serve`;
    until then (or when it could not be loaded) the process is not ready, and the probe does not load it."""
    checks = {"database": _database(rt)}
    checks["redis" if rt.settings.redis_url else "queue"] = _queue(rt)
    checks["models"] = "ok" if rt.triage_loaded else "loading"
    return checks


def _ready(request: Request) -> JSONResponse:
    checks = readiness(request.app.state.runtime)
    if all(state == "ok" for state in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse({"code": "service_unavailable", "message": "not ready: a dependency does not answer",
                         "details": {"checks": checks}}, status_code=503, headers={"Retry-After": "5"})


@router.get("/healthz")
@router.get("/health/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=_NOT_READY)
@router.get("/health/ready", responses=_NOT_READY)
def ready(request: Request) -> JSONResponse:
    return _ready(request)
