"""Every JSON route under /api/v1, as one router the app factory mounts."""

from __future__ import annotations

from fastapi import APIRouter

from caredesk.api.channel_callbacks import email, sms, wechat
from caredesk.api.routes import (
    alarms,
    analytics,
    analytics_forecast,
    analytics_surges,
    calls,
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
    webhooks,
    workorders,
)

__all__ = ["api_router", "channel_callbacks_router"]


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    for module in (messages, corrections, conversations, customers, customer_profiles, customer_privacy,
                   workorders, service, knowledge, alarms, meetings, incidents, staff, analytics, analytics_surges,
                   analytics_forecast, calls, webhooks):
        api.include_router(module.router)
    return api


def channel_callbacks_router() -> APIRouter:
    """What outside systems post to, at the paths their protocols fix (/channels/...)."""
    callbacks = APIRouter()
    for module in (wechat, email, sms):
        callbacks.include_router(module.router)
    return callbacks
