"""Freezing an account that reads customer records in bulk or signs in unusually (accounts/login_risk.py):
the account (API key revoked, or staff member deactivated) and an alert to every administrator, audited, in
one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.storage.orm import ApiKey, Notification, Staff
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["FROZEN_ACCOUNTS_PAGE", "do_freeze_account", "freeze_account", "notify_admins"]


FROZEN_ACCOUNTS_PAGE = "/workbench/staff/frozen"  # where an administrator lifts a freeze


def notify_admins(session: Session, *, kind: str, title: str, body: str, now: datetime, link: str = "") -> None:
    """An in-app notice to every active administrator, in the caller's transaction."""
    for admin in session.scalars(select(Staff).where(Staff.role == "admin", Staff.active.is_(True))):
        session.add(Notification(staff_id=admin.id, kind=kind, title=title[:300], body=body[:2000], link=link,
                                 created_at=now))


def freeze_account(session: Session, *, kind: str, account_id: str, reason: str, now: datetime) -> bool:
    """The freeze inside the caller's transaction (for actions that freeze as one step of their own)."""
    if kind == "api_key":
        key = session.get(ApiKey, account_id)
        if key is None or key.revoked_at is not None:
            return False
        key.revoked_at, name = now, f"API key {key.name} ({key.prefix})"
    else:
        staff = session.get(Staff, account_id)
        if staff is None or not staff.active:
            return False
        staff.active, name = False, f"{staff.display_name} ({staff.username})"
    record_audit(session, actor="system", action="account.frozen", object_type=kind, object_id=account_id,
                 data={"reason": reason}, now=now)
    notify_admins(session, kind="account_frozen", title=f"Account frozen: {name}", body=reason, now=now,
                  link=FROZEN_ACCOUNTS_PAGE if kind == "staff" else "")
    return True


def do_freeze_account(uow: UnitOfWork, *, kind: str, account_id: str, reason: str, now: datetime) -> bool:
    """True when the account was active and is now frozen."""
    with uow:
        frozen = freeze_account(uow.session, kind=kind, account_id=account_id, reason=reason, now=now)
        if frozen:
            uow.commit()
    return frozen
