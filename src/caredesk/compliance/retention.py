"""Retention: how long each kind of data is kept, and the run that applies it.

Messages and customer contact data past their retention are anonymised (the text replaced, PII cleared, the
customer's channel contacts deleted)
rather than deleted (the learned profile and the outside sources' records of such a customer are deleted:
they describe the person), so that work orders, triage results and statistics keep their shape; in-app notices
are deleted, and so are Idempotency-Key answers past their 24 hours (intake ignores them already). The audit
log is kept at least three years whatever is configured (a bank's record-keeping duty) and CareDesk never
deletes it: export it (`caredesk audit export`) before archiving by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, delete, exists, func, or_, select, update

from caredesk.clock import Clock
from caredesk.compliance.audit import record_audit
from caredesk.compliance.customer_data import delete_contact_rows, delete_profile_rows
from caredesk.intake.idempotency_store import purge_expired_keys
from caredesk.settings import Settings
from caredesk.storage.orm import (
    CUSTOMER_PII_FIELDS,
    ChannelContact,
    Conversation,
    Customer,
    CustomerProfile,
    CustomerSourceRecord,
    Message,
    Notification,
)
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context

__all__ = ["AUDIT_MINIMUM_DAYS", "REDACTED", "RetentionPolicy", "RetentionReport", "apply_retention_daily",
           "do_apply_retention"]

AUDIT_MINIMUM_DAYS = 3 * 365 + 1
REDACTED = "[removed by retention policy]"


class RetentionDeps(Protocol):
    settings: Settings
    clock: Clock

    def uow(self) -> UnitOfWork: ...


@dataclass(frozen=True)
class RetentionPolicy:
    message_days: int = 5 * 365
    customer_days: int = 5 * 365  # contact data of customers with no conversation since
    notification_days: int = 90
    audit_days: int = AUDIT_MINIMUM_DAYS

    def __post_init__(self) -> None:
        if self.audit_days < AUDIT_MINIMUM_DAYS:
            raise ValueError(f"audit entries are kept at least {AUDIT_MINIMUM_DAYS} days")
        if min(self.message_days, self.customer_days, self.notification_days) < 1:
            raise ValueError("retention periods are whole days >= 1")

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        return {"message": now - timedelta(days=self.message_days),
                "customer": now - timedelta(days=self.customer_days),
                "notification": now - timedelta(days=self.notification_days)}


@dataclass(frozen=True)
class RetentionReport:
    messages: int
    customers: int
    notifications: int
    idempotency_keys: int = 0  # Idempotency-Key answers past their lifetime (intake/idempotency.py)
    profiles: int = 0  # customers whose profile and source records were deleted (no contact within customer_days)


def do_apply_retention(uow: UnitOfWork, policy: RetentionPolicy, *, now: datetime, batch: int = 1000
                       ) -> RetentionReport:
    cut = policy.cutoffs(now)
    with uow:
        s = uow.session
        ids = list(s.scalars(select(Message.id).where(Message.created_at < cut["message"],
                                                      Message.text_masked != REDACTED).limit(batch)))
        if ids:
            s.execute(update(Message).where(Message.id.in_(ids)).values(text=REDACTED, text_masked=REDACTED)
                      .execution_options(synchronize_session=False))
        last_seen = (select(Conversation.customer_id, func.max(Conversation.last_message_at).label("seen"))
                     .group_by(Conversation.customer_id).subquery())
        stale = list(s.scalars(
            select(Customer.id).outerjoin(last_seen, last_seen.c.customer_id == Customer.id)
            .where(func.coalesce(last_seen.c.seen, Customer.created_at) < cut["customer"],
                   or_(*(getattr(Customer, f).is_not(None) for f in CUSTOMER_PII_FIELDS),
                       exists().where(ChannelContact.customer_id == Customer.id)))
            .limit(batch)))
        for customer in s.scalars(select(Customer).where(Customer.id.in_(stale))):
            for field in CUSTOMER_PII_FIELDS:  # all that identifies or reaches them; the ref and tier stay
                setattr(customer, field, None)  # the keyed hashes are cleared with them
        delete_contact_rows(s, stale)  # their addresses on the channels (openid, phone) go with the rest
        profiled = or_(exists().where(CustomerProfile.customer_id == Customer.id),
                       exists().where(CustomerSourceRecord.customer_id == Customer.id))
        unprofile = list(s.scalars(
            select(Customer.id).outerjoin(last_seen, last_seen.c.customer_id == Customer.id)
            .where(func.coalesce(last_seen.c.seen, Customer.created_at) < cut["customer"], profiled).limit(batch)))
        delete_profile_rows(s, unprofile)
        deleted = cast(CursorResult[Any], s.execute(delete(Notification).where(
            Notification.created_at < cut["notification"]).execution_options(synchronize_session=False)))
        notices = deleted.rowcount or 0
        keys = purge_expired_keys(s, now=now, batch=batch)
        report = RetentionReport(len(ids), len(stale), int(notices), keys, len(unprofile))
        if ids or stale or notices or keys or unprofile:
            record_audit(s, actor="system", action="retention.applied", object_type="retention", object_id="run",
                         data={"messages": report.messages, "customers": report.customers,
                               "notifications": report.notifications, "idempotency_keys": report.idempotency_keys,
                               "profiles": report.profiles,
                               "cutoffs": {k: v.isoformat() for k, v in cut.items()}}, now=now)
        uow.commit()
    return report


def apply_retention_daily() -> int:
    """The daily task: batches until nothing is left, with the configured policy."""
    rt: RetentionDeps = task_context()
    st = rt.settings
    policy = RetentionPolicy(st.retention_message_days, st.retention_customer_days, st.retention_notification_days)
    total = 0
    while True:
        report = do_apply_retention(rt.uow(), policy, now=rt.clock.now())
        total += (report.messages + report.customers + report.notifications + report.idempotency_keys
                  + report.profiles)
        if report.messages + report.customers + report.idempotency_keys + report.profiles == 0:
            return total
