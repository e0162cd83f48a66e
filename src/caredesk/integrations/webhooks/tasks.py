"""The webhook tasks: send what is due (kicked after each fan-out or replay, and every minute as a sweep that
also takes retries whose backoff ran out), and e-mail the administrators that an endpoint was disabled."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caredesk.clock import Clock
from caredesk.integrations.webhooks.pruning import prune_deliveries
from caredesk.integrations.webhooks.sending import SenderDeps, deliver_due
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.settings import Settings
from caredesk.storage.orm import Staff, WebhookSubscription
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice

__all__ = ["NoticeDeps", "email_disabled_notice", "prune_webhook_log", "send_due_webhooks", "sweep_webhooks"]


def send_due_webhooks() -> int:
    """How many deliveries were tried."""
    rt: SenderDeps = task_context()
    report = deliver_due(rt)
    return report.delivered + report.failed


def sweep_webhooks() -> int:
    """The periodic run (every worker's scheduler may fire it: senders claim different deliveries)."""
    return send_due_webhooks()


def prune_webhook_log() -> int:
    """The daily run: settled deliveries and their events past `webhooks_keep_days`."""
    rt: SenderDeps = task_context()
    with rt.uow() as uow:
        deliveries, _ = prune_deliveries(uow.session, now=rt.clock.now(),
                                         keep=timedelta(days=rt.settings.webhooks_keep_days))
        uow.commit()
    return deliveries


class NoticeDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender

    def uow(self) -> UnitOfWork: ...


def email_disabled_notice(subscription_id: str, outbox_id: int | None = None) -> str:
    rt: NoticeDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        sub = s.scalar(select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
                       .with_for_update().execution_options(populate_existing=True))
        if sub is None or sub.active or sub.notice_emailed_at is not None:
            return Skip("skipped")  # gone, enabled again meanwhile, or told already
        if claim_is_live(sub.notice_claimed_until, now):
            return Skip("claimed", done=False)
        admins = [a.email for a in s.scalars(select(Staff).where(Staff.role == "admin", Staff.active.is_(True)))
                  if a.email]
        if not admins:
            sub.notice_emailed_at = now  # nobody to e-mail: the in-app notices are the record
            return Skip("no-recipient")
        sub.notice_claimed_until = now + rt.settings.notice_claim
        msg = EmailMessage()
        msg["To"] = ", ".join(admins)
        tag_notice(msg, "webhook_disabled", sub.id)
        msg["Subject"] = f"[CareDesk] Webhook endpoint disabled: {sub.url}"[:200]
        msg.set_content(
            f"CareDesk stopped sending events to {sub.url}\n"
            f"Reason: {sub.disabled_reason}\n\n"
            "Deliveries that had not gone out wait. Fix the receiver, then enable the subscription again\n"
            f'(PATCH /api/v1/webhooks/{sub.id} with {{"active": true}}); they are sent then.\n'
            f"Delivery log: {rt.settings.base_url}/api/v1/webhooks/{sub.id}/deliveries\n")
        return Claimed(msg)


    def sent(s: Session, now: datetime) -> str:
        s.execute(update(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
                  .values(notice_emailed_at=now, notice_claimed_until=None)
                  .execution_options(synchronize_session=False))
        return "sent"

    def failed(s: Session, exc: OSError, now: datetime) -> None:
        s.execute(update(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
                  .values(notice_claimed_until=None).execution_options(synchronize_session=False))

    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease, claim=claim,
                          send=rt.mailer.send, record_sent=sent, record_failed=failed)
