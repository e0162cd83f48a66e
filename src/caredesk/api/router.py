"""Every JSON route under /api/v1, as one router the app factory mounts."""

from __future__ import annotations

from fastapi import APIRouter

from caredesk.api.routes import (
    alarms,
    analytics,
    analytics_forecast,
    analytics_surges,
    conversations,
    corrections,
    customer_privacy,
    customer_profiles,
    customers,
    incidents,
    knowledge,
    meetings,
    messages,
    service,
    staff,
    workorders,
)

__all__ = ["api_router"]


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    for module in (messages, corrections, conversations, customers, customer_profiles, customer_privacy,
                   workorders, service, knowledge, alarms, meetings, incidents, staff, analytics, analytics_surges,
                   analytics_forecast):
        api.include_router(module.router)
    return api
