"""Every read of a customer's record or conversation is an audit entry of its own (who read what, and
through which door), so that an auditor can answer "who has seen this customer's data"."""

from __future__ import annotations

from datetime import datetime

from caredesk.compliance.audit import record_audit
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["do_audit_read"]


def do_audit_read(uow: UnitOfWork, *, actor: str, object_type: str, object_id: str, via: str,
                  now: datetime) -> None:
    """`via` names the door: "api" or "web"."""
    with uow:
        record_audit(uow.session, actor=actor, action=f"{object_type}.read", object_type=object_type,
                     object_id=object_id, data={"via": via}, now=now)
        uow.commit()
