"""The profile model's quality, for administrators: the training runs (escalation-risk AUC on the held-out
recent weeks, promoted or not, and why) and CSAT by customer segment (profiles/quality.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.profiles.model import active_version
from caredesk.profiles.quality import csat_by_segment, training_runs
from caredesk.storage.orm import Staff
from caredesk.web.rendering import WebRoute, render, staff_who_may

__all__ = ["PROFILE_QUALITY_PAGE", "router"]

PROFILE_QUALITY_PAGE = "/workbench/profiles/quality"
router = APIRouter(route_class=WebRoute)


@router.get(PROFILE_QUALITY_PAGE, response_class=HTMLResponse)
def quality_page(request: Request, rt: RuntimeDep, session: SessionDep,
                 staff: Annotated[Staff, staff_who_may("profiles.model")]) -> HTMLResponse:
    context = {"runs": training_runs(session), "segments": csat_by_segment(session, now=rt.clock.now()),
               "active": active_version(rt.settings.models_path)}
    return render(request, "profiles_quality.html", context, staff=staff)
