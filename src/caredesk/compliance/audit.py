"""The audit log: append-only, each row's hash covering the previous row's hash, so that a changed or
removed row breaks the chain. Written in the same transaction as the change it records."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caredesk.storage.orm import AuditEntry

__all__ = ["GENESIS", "record_audit", "verify_chain"]

GENESIS = "0" * 64


def _digest(prev: str, at: datetime, actor: str, action: str, object_type: str, object_id: str,
            data: dict[str, Any]) -> str:
    payload = json.dumps([prev, at.isoformat(), actor, action, object_type, object_id, data], sort_keys=True,
                         ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def record_audit(session: Session, *, actor: str, action: str, object_type: str, object_id: str,
                 data: dict[str, Any] | None = None, now: datetime) -> AuditEntry:
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent writers would otherwise both chain onto the same previous row.
        session.execute(text("SELECT pg_advisory_xact_lock(727001)"))
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    data = data or {}
    entry = AuditEntry(at=now, actor=actor, action=action, object_type=object_type, object_id=object_id, data=data,
                       prev_hash=prev, hash=_digest(prev, now, actor, action, object_type, object_id, data))
    session.add(entry)
    session.flush()
    return entry


def verify_chain(session: Session) -> tuple[bool, int, int | None]:
    """(intact, rows checked, id of the first broken row)."""
    prev = GENESIS
    checked = 0
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if e.prev_hash != prev or e.hash != _digest(prev, e.at, e.actor, e.action, e.object_type, e.object_id,
                                                      e.data):
            return False, checked, e.id
        prev = e.hash
        checked += 1
    return True, checked, None
