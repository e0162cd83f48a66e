"""The server-rendered web UI (Jinja + htmx): staff sign-in, the live agent workbench with its conversation,
work-order and meeting pages, the customer chat, the meeting join link, and the static files (htmx is
vendored; nothing is fetched from elsewhere at run time)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from caredesk.web import (
    views_alarms,
    views_analytics,
    views_at_hand,
    views_auth,
    views_corrections,
    views_incidents,
    views_knowledge,
    views_profile,
    views_profiles,
    views_public,
    views_staff,
    views_surges,
    views_survey,
    views_wo_queues,
    views_workbench,
    views_workorders,
)
from caredesk.web.rendering import package_dir

__all__ = ["router"]

router = APIRouter()
for module in (views_auth, views_workbench, views_workorders, views_wo_queues, views_alarms, views_incidents,
               views_corrections, views_knowledge, views_public, views_survey, views_staff, views_at_hand,
               views_analytics, views_surges, views_profile, views_profiles):
    router.include_router(module.router, include_in_schema=False)
router.mount("/static", StaticFiles(directory=package_dir("static")), name="static")
