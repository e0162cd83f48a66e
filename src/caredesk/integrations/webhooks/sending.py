"""The sender: claim one due delivery (a lease, in a short transaction), POST it signed with no transaction
open, record the outcome (delivered, retry with backoff, given up, endpoint disabled) in a new transaction.

At least once: a sender that dies between the POST and the record leaves the lease to run out, and the
delivery is sent again with the same `X-CareDesk-Delivery` and event id (receivers deduplicate on the event
id). Several senders (workers, the periodic sweep) claim different rows: SELECT ... FOR UPDATE SKIP LOCKED
on PostgreSQL, one writer at a time on SQLite."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caredesk.clock import Clock
from caredesk.integrations.webhooks.endpoints import disable_endpoint, note_failure, note_success
from caredesk.integrations.webhooks.policy import Outcome, RetryPolicy, judge
from caredesk.integrations.webhooks.signing import SIGNATURE_HEADER, signature_header
from caredesk.integrations.webhooks.urls import InvalidWebhookUrl, check_url
from caredesk.settings import Settings
from caredesk.storage.orm import WebhookDelivery, WebhookEvent, WebhookSubscription
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["Attempt", "SendReport", "SenderDeps", "body_of", "deliver_due", "retry_policy"]

log = logging.getLogger(__name__)
USER_AGENT = "CareDesk-Webhooks/1"


class SenderDeps(Protocol):
    settings: Settings
    clock: Clock

    def uow(self) -> UnitOfWork: ...


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.webhooks_max_attempts,
                       client_error_attempts=settings.webhooks_client_error_attempts,
                       backoff_seconds=settings.webhooks_backoff_seconds,
                       backoff_cap_seconds=settings.webhooks_backoff_cap_seconds,
                       disable_after_failures=settings.webhooks_disable_after_failures,
                       disable_after=timedelta(hours=settings.webhooks_disable_after_hours))


def body_of(event: WebhookEvent, *, include_personal_data: bool) -> bytes:
    """The JSON body: masked data, or with the unmasked fields where an administrator allowed it."""
    data: dict[str, Any] = dict(event.data or {})
    if include_personal_data and event.personal:
        data |= json.loads(event.personal)
    body = {"id": event.id, "type": event.type, "created_at": event.created_at.isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Attempt:
    delivery_id: str
    subscription_id: str
    event_type: str
    url: str
    secret: str
    body: bytes
    attempts: int


@dataclass
class SendReport:
    delivered: int = 0
    failed: int = 0
    outcomes: list[str] = field(default_factory=list)


def _claim(s: Session, now: datetime, lease: timedelta, skip: frozenset[str] = frozenset()) -> Attempt | None:
    row = s.execute(
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
               or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until <= now),
               WebhookSubscription.active.is_(True), WebhookDelivery.subscription_id.not_in(skip))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(1)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
        .execution_options(populate_existing=True)).first()
    if row is None:
        return None
    delivery, sub = row
    event = s.get(WebhookEvent, delivery.event_id)
    delivery.claimed_until, delivery.attempts, delivery.last_attempt_at = now + lease, delivery.attempts + 1, now
    if event is None:  # pruned: nothing to send
        delivery.status, delivery.last_error, delivery.claimed_until = "failed", "event no longer stored", None
        return _claim(s, now, lease, skip)
    return Attempt(delivery.id, sub.id, event.type, sub.url, sub.secret,
                   body_of(event, include_personal_data=sub.include_personal_data), delivery.attempts)


@dataclass(frozen=True)
class _Answer:
    status: int | None
    latency_ms: int
    error: str | None


def _post(client: httpx.Client, attempt: Attempt, *, now: datetime, refuse_private: bool) -> _Answer:
    started = time.monotonic()
    try:
        if refuse_private:  # resolved again at each send: a name may point elsewhere since it was checked
            check_url(attempt.url, refuse_private=True)
        stamp = int(now.timestamp())
        response = client.post(attempt.url, content=attempt.body, headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            "X-CareDesk-Event": attempt.event_type, "X-CareDesk-Delivery": attempt.delivery_id,
            SIGNATURE_HEADER: signature_header(attempt.secret, stamp, attempt.body)})
    except InvalidWebhookUrl as exc:
        return _Answer(400, 0, f"refused before sending: {exc.message}"[:500])
    except httpx.TimeoutException as exc:
        return _Answer(None, int((time.monotonic() - started) * 1000), f"timeout: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return _Answer(None, int((time.monotonic() - started) * 1000), f"{type(exc).__name__}: {exc}"[:500])
    latency = int((time.monotonic() - started) * 1000)
    ok = 200 <= response.status_code < 300
    return _Answer(response.status_code, latency, None if ok else f"HTTP {response.status_code}")


def _record(s: Session, attempt: Attempt, answer: _Answer, policy: RetryPolicy, now: datetime) -> str:
    # The subscription first, as the subscription actions lock it (one order: no deadlock with a replay)
    sub = s.get(WebhookSubscription, attempt.subscription_id, with_for_update=True, populate_existing=True)
    delivery = s.get(WebhookDelivery, attempt.delivery_id, with_for_update=True, populate_existing=True)
    if delivery is None or sub is None:
        return "gone"
    delivery.claimed_until, delivery.response_code = None, answer.status
    delivery.latency_ms, delivery.last_error = answer.latency_ms, answer.error
    verdict = judge(policy, answer.status, attempt.attempts, now=now)
    if verdict.outcome is Outcome.DELIVERED:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        note_success(sub)
        return "delivered"
    if verdict.outcome is Outcome.RETRY:
        delivery.next_attempt_at = verdict.next_attempt_at
    else:
        delivery.status, delivery.next_attempt_at = "failed", None
    if verdict.outcome is Outcome.GONE:
        disable_endpoint(s, sub, reason="the receiver answered 410 Gone", now=now)
    else:
        note_failure(s, sub, policy, now=now)
    return str(verdict.outcome)


def deliver_due(deps: SenderDeps, *, limit: int = 200, client: httpx.Client | None = None) -> SendReport:
    """Send due deliveries one at a time until none is left or `limit` were tried. An endpoint that failed is
    left alone for the rest of the run: a dead receiver with a thousand waiting deliveries gets one request per
    run, not a thousand."""
    settings = deps.settings
    policy = retry_policy(settings)
    lease = timedelta(seconds=settings.webhooks_timeout_seconds + 30)
    report = SendReport()
    failing: set[str] = set()
    own = client is None
    http = client or httpx.Client(timeout=settings.webhooks_timeout_seconds, follow_redirects=False,
                                  trust_env=False)
    try:
        for _ in range(limit):
            with deps.uow() as uow:
                attempt = _claim(uow.session, deps.clock.now(), lease, frozenset(failing))
                uow.commit()
            if attempt is None:
                break
            answer = _post(http, attempt, now=deps.clock.now(),
                           refuse_private=settings.webhooks_refuse_private_addresses)
            with deps.uow() as uow:
                outcome = _record(uow.session, attempt, answer, policy, deps.clock.now())
                uow.commit()
            log.info("webhook delivery %s (%s) attempt %d: %s %s in %d ms", attempt.delivery_id,
                     attempt.event_type, attempt.attempts, outcome, answer.status, answer.latency_ms)
            report.outcomes.append(outcome)
            if outcome == "delivered":
                report.delivered += 1
            else:
                report.failed += 1
                failing.add(attempt.subscription_id)
    finally:
        if own:
            http.close()
    return report
