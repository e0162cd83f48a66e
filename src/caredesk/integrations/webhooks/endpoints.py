"""An endpoint's health: failures in a row since when, and disabling a dead one (in the caller's transaction:
audited, an in-app notice to every administrator, and an e-mail to them after the commit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from caredesk.accounts.abuse import notify_admins
from caredesk.compliance.audit import record_audit
from caredesk.integrations.webhooks.events import EndpointDisabled
from caredesk.integrations.webhooks.policy import RetryPolicy, should_disable
from caredesk.storage.orm import WebhookSubscription
from caredesk.storage.unit_of_work import events_of

__all__ = ["WEBHOOKS_PAGE", "disable_endpoint", "note_failure", "note_success"]

WEBHOOKS_PAGE = "/api/v1/webhooks"


def note_success(sub: WebhookSubscription) -> None:
    sub.consecutive_failures, sub.failing_since = 0, None


def note_failure(s: Session, sub: WebhookSubscription, policy: RetryPolicy, *, now: datetime) -> bool:
    """Count the failure; True when it disabled the endpoint."""
    sub.consecutive_failures += 1
    sub.failing_since = sub.failing_since or now
    if sub.active and should_disable(policy, sub.consecutive_failures, sub.failing_since, now=now):
        hours = (now - sub.failing_since).total_seconds() / 3600
        disable_endpoint(s, sub, reason=f"{sub.consecutive_failures} failed deliveries in a row over "
                                        f"{hours:.1f} hours", now=now)
        return True
    return False


def disable_endpoint(s: Session, sub: WebhookSubscription, *, reason: str, now: datetime) -> None:
    """Stop sending to the endpoint; its pending deliveries wait until an administrator enables it again."""
    if not sub.active:
        return
    sub.active, sub.disabled_at, sub.disabled_reason, sub.updated_at = False, now, reason[:300], now
    sub.notice_emailed_at = sub.notice_claimed_until = None
    record_audit(s, actor="system", action="webhook.disabled", object_type="webhook_subscription",
                 object_id=sub.id, data={"reason": reason[:300], "url": sub.url}, now=now)
    notify_admins(s, kind="webhook_disabled", title=f"Webhook endpoint disabled: {sub.url}"[:300],
                  body=f"{reason}. Fix the receiver, then enable it again (PATCH {WEBHOOKS_PAGE}/{sub.id} "
                       f'{{"active": true}}); its pending deliveries are sent then.', now=now,
                  link=f"{WEBHOOKS_PAGE}/{sub.id}/deliveries")
    events_of(s, now=now).record(EndpointDisabled(sub.id))
