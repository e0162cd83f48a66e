"""Every read of a customer's record or conversation is an audit entry of its own (who read what, and
through which door), so that an auditor can answer "who has seen this customer's data"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from caredesk.compliance.audit import record_audit
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["do_audit_read"]


def do_audit_read(uow: UnitOfWork, *, actor: str, object_type: str, object_ids: Sequence[str], via: str,
                  now: datetime) -> None:
    """One entry per record read, all in one transaction; `via` names the door: "api" or "web"."""
    if not object_ids:
        return
    with uow:
        for object_id in object_ids:
            record_audit(uow.session, actor=actor, action=f"{object_type}.read", object_type=object_type,
                         object_id=object_id, data={"via": via}, now=now)
        uow.commit()
