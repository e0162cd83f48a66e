"""Surges (issue 15): the list since a moment (on `detected_at`), and the lifecycle: acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from caredesk.analytics.period import parse_moment
from caredesk.analytics.surge_lifecycle import do_acknowledge_surge, do_resolve_surge, get_surge, list_surges
from caredesk.analytics.thresholds import load_thresholds
from caredesk.api.query_params import MOMENT_PATTERN
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.storage.orm import Surge

router = APIRouter(tags=["analytics"])


def surge_out(s: Surge) -> dict[str, Any]:
    report = s.report or {}
    return {"id": s.id, "dimension": s.dimension, "value": s.value, "window_start": s.window_start,
            "window_end": s.window_end, "detected_at": s.detected_at, "observed": s.observed,
            "expected": s.expected, "status": s.status, "acknowledged_at": s.acknowledged_at,
            "acknowledged_by": s.acknowledged_by, "resolved_at": s.resolved_at,
            "summary": report.get("summary"), "phrases": report.get("phrases", []),
            "samples": report.get("samples", []), "channels": report.get("channels", {}),
            "branches": report.get("branches", {}), "clusters": report.get("clusters", []),
            "series": report.get("series", []), "also_raised": report.get("also_raised", []),
            "explained_by": report.get("explained_by")}


@router.get("/analytics/surges")
def get_surges(rt: RuntimeDep, session: SessionDep, caller: Annotated[Caller, Depends(require("surge.read"))],
               since: Annotated[str | None, Query(max_length=64, description="ISO 8601, on detected_at",
                                                  json_schema_extra={"pattern": MOMENT_PATTERN})] = None
               ) -> dict[str, Any]:
    start = parse_moment(since, rt.settings.display_timezone, field="since") if since else None
    return {"items": [surge_out(s) for s in list_surges(session, since=start)]}


@router.post("/analytics/surges/{surge_id}/acknowledge")
def acknowledge_surge(surge_id: str, rt: RuntimeDep, session: SessionDep,
                      caller: Annotated[Caller, Depends(require("surge.handle"))]) -> dict[str, Any]:
    get_surge(session, surge_id)
    return surge_out(do_acknowledge_surge(rt.uow(), surge_id, actor=caller.actor,
                                          staff_id=caller.id if caller.kind == "staff" else None,
                                          now=rt.clock.now()))


@router.post("/analytics/surges/{surge_id}/resolve")
def resolve_surge(surge_id: str, rt: RuntimeDep, session: SessionDep,
                  caller: Annotated[Caller, Depends(require("surge.handle"))]) -> dict[str, Any]:
    get_surge(session, surge_id)
    return surge_out(do_resolve_surge(rt.uow(), surge_id, actor=caller.actor,
                                      staff_id=caller.id if caller.kind == "staff" else None, now=rt.clock.now(),
                                      notices=load_thresholds(rt.settings.analytics_thresholds_file).surges,
                                      tz=rt.settings.display_timezone, quiet=rt.alarm_strategy.quiet_hours))
