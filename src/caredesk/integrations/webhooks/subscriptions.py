"""Subscriptions: create, change (events, URL, active, secret rotation, personal data), delete, and replaying a
delivery. Each action validates first (nothing half-stored), changes the rows in one transaction and writes an
audit entry with it. The secret is stored encrypted and never returned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from caredesk.compliance.audit import record_audit
from caredesk.errors import InvalidInput, NotFound
from caredesk.integrations.webhooks.catalog import normalize_events
from caredesk.integrations.webhooks.events import DeliveriesDue
from caredesk.integrations.webhooks.urls import check_url
from caredesk.integrations.webhooks.views import DeliveryView, SubscriptionView, delivery_view, view_of
from caredesk.storage.orm import WebhookDelivery, WebhookSubscription
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["MIN_SECRET", "Change", "WeakSecret", "do_create_subscription", "do_delete_subscription",
           "do_replay_delivery", "do_update_subscription", "get_subscription"]

MIN_SECRET = 16


class WeakSecret(InvalidInput):
    code = "invalid_webhook_secret"


def _check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET or len(secret) > 200 or secret != secret.strip() or not secret.isprintable():
        raise WeakSecret(f"the secret must be {MIN_SECRET} to 200 printable characters without surrounding spaces")
    return secret


def _check_description(text: str) -> str:
    if "\x00" in text:  # PostgreSQL stores no NUL in text
        raise InvalidInput("the description may not contain NUL characters")
    return text.strip()[:200]


def do_create_subscription(uow: UnitOfWork, *, url: str, events: list[str], secret: str, description: str = "",
                           include_personal_data: bool = False, refuse_private: bool, actor: str,
                           now: datetime) -> SubscriptionView:
    checked_url = check_url(url, refuse_private=refuse_private)
    names = normalize_events(events)
    _check_secret(secret)
    description = _check_description(description)
    with uow:
        sub = WebhookSubscription(url=checked_url, events=names, secret=secret, description=description,
                                  active=True, include_personal_data=include_personal_data,
                                  consecutive_failures=0, created_by=actor, created_at=now, updated_at=now)
        uow.session.add(sub)
        uow.session.flush()
        record_audit(uow.session, actor=actor, action="webhook.created", object_type="webhook_subscription",
                     object_id=sub.id, data={"url": checked_url, "events": names,
                                             "include_personal_data": include_personal_data}, now=now)
        view = view_of(sub)
        uow.commit()
    return view


@dataclass(frozen=True)
class Change:
    """The fields a PATCH named; None: not named (every field here is required when stored)."""

    url: str | None = None
    events: list[str] | None = None
    secret: str | None = None
    active: bool | None = None
    include_personal_data: bool | None = None
    description: str | None = None


def _locked(uow: UnitOfWork, subscription_id: str) -> WebhookSubscription:
    sub = uow.session.scalar(select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
                             .with_for_update())
    if sub is None:
        raise NotFound("no such webhook subscription")
    return sub


def do_update_subscription(uow: UnitOfWork, subscription_id: str, change: Change, *, refuse_private: bool,
                           actor: str, now: datetime) -> SubscriptionView:
    url = check_url(change.url, refuse_private=refuse_private) if change.url is not None else None
    names = normalize_events(change.events) if change.events is not None else None
    if change.secret is not None:
        _check_secret(change.secret)
    description = _check_description(change.description) if change.description is not None else None
    with uow:
        sub = _locked(uow, subscription_id)
        audit: dict[str, object] = {}
        if url is not None and url != sub.url:
            audit["url"] = {"from": sub.url, "to": url}
            sub.url = url
        if names is not None and names != list(sub.events):
            audit["events"] = {"from": list(sub.events), "to": names}
            sub.events = names
        if change.secret is not None:
            sub.secret, audit["secret"] = change.secret, "rotated"
        if description is not None and description != sub.description:
            sub.description, audit["description"] = description, "changed"
        if change.include_personal_data is not None and change.include_personal_data != sub.include_personal_data:
            audit["include_personal_data"] = {"from": sub.include_personal_data, "to": change.include_personal_data}
            sub.include_personal_data = change.include_personal_data
        if change.active is not None and change.active != sub.active:
            audit["active"] = {"from": sub.active, "to": change.active}
            sub.active = change.active
            if change.active:  # enabled again: a fresh count; the pending deliveries go out now
                sub.consecutive_failures, sub.failing_since = 0, None
                sub.disabled_at = sub.disabled_reason = None
                uow.record(DeliveriesDue(0))
            else:
                sub.disabled_at, sub.disabled_reason = now, f"disabled by {actor}"
        if audit:
            sub.updated_at = now
            record_audit(uow.session, actor=actor, action="webhook.changed", object_type="webhook_subscription",
                         object_id=sub.id, data=audit, now=now)
        view = view_of(sub)
        uow.commit()
    return view


def do_delete_subscription(uow: UnitOfWork, subscription_id: str, *, actor: str, now: datetime) -> None:
    """The subscription and its delivery log go (the events stay for other subscriptions)."""
    with uow:
        sub = _locked(uow, subscription_id)
        record_audit(uow.session, actor=actor, action="webhook.deleted", object_type="webhook_subscription",
                     object_id=sub.id, data={"url": sub.url, "events": list(sub.events)}, now=now)
        uow.session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
                            .execution_options(synchronize_session=False))
        uow.session.delete(sub)
        uow.commit()


def do_replay_delivery(uow: UnitOfWork, subscription_id: str, delivery_id: str, *, actor: str,
                       now: datetime) -> DeliveryView:
    """Send a delivery again (delivered or failed): pending now, with a fresh attempt count; the same event id,
    so the receiver can tell it from a new event."""
    with uow:
        sub = _locked(uow, subscription_id)
        delivery = uow.session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                                    WebhookDelivery.subscription_id == sub.id)
                                      .with_for_update())
        if delivery is None:
            raise NotFound("no such delivery of this webhook subscription")
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
        delivery.claimed_until, delivery.replays = None, delivery.replays + 1
        record_audit(uow.session, actor=actor, action="webhook.replayed", object_type="webhook_delivery",
                     object_id=delivery.id, data={"subscription_id": sub.id, "event_id": delivery.event_id,
                                                  "event_type": delivery.event_type}, now=now)
        uow.record(DeliveriesDue(1))
        uow.session.flush()
        view = delivery_view(delivery)
        uow.commit()
    return view


def get_subscription(uow: UnitOfWork, subscription_id: str) -> SubscriptionView:
    with uow:
        sub = uow.session.get(WebhookSubscription, subscription_id)
        if sub is None:
            raise NotFound("no such webhook subscription")
        return view_of(sub)
