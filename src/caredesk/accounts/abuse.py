"""Freezing an account that reads customer records in bulk: the account (API key revoked, or staff
member deactivated) and an alert to every administrator, audited, in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from caredesk.compliance.audit import record_audit
from caredesk.storage.orm import ApiKey, Notification, Staff
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["do_freeze_account"]


def do_freeze_account(uow: UnitOfWork, *, kind: str, account_id: str, reason: str, now: datetime) -> bool:
    """True when the account was active and is now frozen."""
    with uow:
        s = uow.session
        if kind == "api_key":
            key = s.get(ApiKey, account_id)
            if key is None or key.revoked_at is not None:
                return False
            key.revoked_at, name = now, f"API key {key.name} ({key.prefix})"
        else:
            staff = s.get(Staff, account_id)
            if staff is None or not staff.active:
                return False
            staff.active, name = False, f"{staff.display_name} ({staff.username})"
        record_audit(s, actor="system", action="account.frozen", object_type=kind, object_id=account_id,
                     data={"reason": reason}, now=now)
        for admin in s.scalars(select(Staff).where(Staff.role == "admin", Staff.active.is_(True))):
            s.add(Notification(staff_id=admin.id, kind="account_frozen", title=f"Account frozen: {name}"[:300],
                               body=reason[:2000], link="", created_at=now))
        uow.commit()
    return True
