"""`/api/v1/webhooks`: subscriptions and their delivery log, administrators only. Thin: parse, call one action
or query, render (the secret is never in an answer)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.integrations.webhooks.catalog import ALL, EVENT_TYPES
from caredesk.integrations.webhooks.queries import list_deliveries, list_subscriptions
from caredesk.integrations.webhooks.subscriptions import (
    Change,
    do_create_subscription,
    do_delete_subscription,
    do_replay_delivery,
    do_update_subscription,
    get_subscription,
)
from caredesk.integrations.webhooks.views import DeliveryView, SubscriptionView

__all__ = ["router"]

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Admin = Annotated[Caller, Depends(require("webhooks.manage"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What the schema publishes is a subset the actions always accept (the actions say why anything else is refused,
# with a stable code): an http(s) URL with a plain host, a printable-ASCII secret, known event types.
_URL: JsonDict = {"pattern": r"^https?://[A-Za-z0-9][A-Za-z0-9.-]{0,200}(:[1-9][0-9]{0,3})?(/[!-~]*)?$"}
_SECRET: JsonDict = {"minLength": 16, "pattern": r"^[!-~]([ -~]*[!-~])?$"}
_EVENTS: JsonDict = {"minItems": 1, "items": {"type": "string", "enum": [ALL, *EVENT_TYPES]}}
_TEXT: JsonDict = {"pattern": r"^[^\u0000]*$"}


class SubscriptionIn(_Strict):
    url: str = Field(max_length=2000, description="http:// or https:// receiver", json_schema_extra=_URL)
    events: list[str] = Field(max_length=len(EVENT_TYPES) + 1, description=f'event types, or "{ALL}" for all',
                              json_schema_extra=_EVENTS)
    secret: str = Field(max_length=200, description="signs each delivery (HMAC-SHA256); never shown again",
                        json_schema_extra=_SECRET)
    description: str = Field("", max_length=200, json_schema_extra=_TEXT)
    include_personal_data: bool = Field(False, description="send customer text and personal data unmasked")


class SubscriptionPatch(_Strict):
    url: str | None = Field(None, max_length=2000, json_schema_extra=_URL)
    events: list[str] | None = Field(None, max_length=len(EVENT_TYPES) + 1, json_schema_extra=_EVENTS)
    secret: str | None = Field(None, max_length=200, description="a new secret (rotation)",
                               json_schema_extra=_SECRET)
    active: bool | None = None
    include_personal_data: bool | None = None
    description: str | None = Field(None, max_length=200, json_schema_extra=_TEXT)


def _json(view: SubscriptionView | DeliveryView) -> dict[str, Any]:
    out = dataclasses.asdict(view)
    if isinstance(view, SubscriptionView):
        out["events"] = list(view.events)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


@router.get("/event-types")
def event_types(caller: Admin) -> dict[str, Any]:
    return {"event_types": list(EVENT_TYPES), "all": ALL}


@router.post("", status_code=201)
def create_webhook(body: SubscriptionIn, rt: RuntimeDep, caller: Admin) -> dict[str, Any]:
    return _json(do_create_subscription(
        rt.uow(), url=body.url, events=body.events, secret=body.secret, description=body.description,
        include_personal_data=body.include_personal_data,
        refuse_private=rt.settings.webhooks_refuse_private_addresses, actor=caller.actor, now=rt.clock.now()))


@router.get("")
def list_webhooks(session: SessionDep, caller: Admin) -> dict[str, Any]:
    return {"items": [_json(v) for v in list_subscriptions(session)]}


@router.get("/{subscription_id}")
def get_webhook(subscription_id: str, rt: RuntimeDep, caller: Admin) -> dict[str, Any]:
    return _json(get_subscription(rt.uow(), subscription_id))


@router.patch("/{subscription_id}")
def change_webhook(subscription_id: str, body: SubscriptionPatch, rt: RuntimeDep, caller: Admin) -> dict[str, Any]:
    named = body.model_dump(exclude_unset=True)
    change = Change(**{k: v for k, v in named.items() if v is not None})
    return _json(do_update_subscription(rt.uow(), subscription_id, change,
                                        refuse_private=rt.settings.webhooks_refuse_private_addresses,
                                        actor=caller.actor, now=rt.clock.now()))


@router.delete("/{subscription_id}", status_code=204)
def delete_webhook(subscription_id: str, rt: RuntimeDep, caller: Admin) -> Response:
    do_delete_subscription(rt.uow(), subscription_id, actor=caller.actor, now=rt.clock.now())
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries")
def webhook_deliveries(subscription_id: str, session: SessionDep, caller: Admin,
                       status: Literal["pending", "delivered", "failed"] | None = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       before: datetime | None = None) -> dict[str, Any]:
    """The delivery log, newest first (`before`: the `created_at` of the last one seen, for the next page)."""
    return {"items": [_json(v) for v in list_deliveries(session, subscription_id, status=status, limit=limit,
                                                         before=before)]}


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay", status_code=202)
def replay_webhook_delivery(subscription_id: str, delivery_id: str, rt: RuntimeDep, caller: Admin
                            ) -> dict[str, Any]:
    return _json(do_replay_delivery(rt.uow(), subscription_id, delivery_id, actor=caller.actor,
                                    now=rt.clock.now()))
