"""The audit log: append-only, each row's hash covering the previous row's hash, so that a changed or
removed row breaks the chain. Written in the same transaction as the change it records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from caredesk.storage.orm import AuditEntry

__all__ = ["GENESIS", "ChainCheck", "iter_entries", "record_audit", "verify_chain"]

GENESIS = "0" * 64


def _digest(prev: str, at: datetime, actor: str, action: str, object_type: str, object_id: str,
            data: dict[str, Any]) -> str:
    payload = json.dumps([prev, at.isoformat(), actor, action, object_type, object_id, data], sort_keys=True,
                         ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


_PENDING = "caredesk.pending_audit"


def record_audit(session: Session, *, actor: str, action: str, object_type: str, object_id: str,
                 data: dict[str, Any] | None = None, now: datetime) -> None:
    """Queue an entry on the session; it is chained and written when the session commits (`_chain_pending`),
    in the same transaction as the change it records, or dropped with it on a rollback."""
    session.info.setdefault(_PENDING, []).append(
        AuditEntry(at=now, actor=actor, action=action, object_type=object_type, object_id=object_id,
                   data=data or {}))


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Chain the queued entries at the end of the transaction. On PostgreSQL the chain takes a lock (concurrent
    writers would otherwise both chain onto the same previous row); taken last, it is held for a moment and
    is never part of a deadlock with the rows the change locked (taken mid-transaction, it deadlocked intake
    with the case counter and the routing's staff rows under load). One read of the chain's head and one
    INSERT of all the entries, in their order (Core, not an ORM flush: a read audit's whole write is these
    two statements, made while the writers' lock is held)."""
    pending: list[AuditEntry] = session.info.pop(_PENDING, [])
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(727001)"))
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    rows = []
    for entry in pending:
        entry_hash = _digest(prev, entry.at, entry.actor, entry.action, entry.object_type, entry.object_id,
                             entry.data)
        rows.append({"at": entry.at, "actor": entry.actor, "action": entry.action,
                     "object_type": entry.object_type, "object_id": entry.object_id, "data": entry.data,
                     "prev_hash": prev, "hash": entry_hash})
        prev = entry_hash
    session.execute(insert(AuditEntry), rows)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


_BROKEN_LINK = "the link to the previous entry is broken (a row was removed, inserted or re-linked)"
_CHANGED = "the content does not match its hash (the row was changed)"


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    checked: int  # rows found intact before the first broken one (all rows when intact)
    broken_id: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, batch: int = 1000) -> ChainCheck:
    """Walk the chain in id order (streamed): the first row whose link or content hash does not match."""
    prev = GENESIS
    checked = 0
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=batch)):
        if e.prev_hash != prev:
            return ChainCheck(False, checked, e.id, _BROKEN_LINK)
        if e.hash != _digest(prev, e.at, e.actor, e.action, e.object_type, e.object_id, e.data):
            return ChainCheck(False, checked, e.id, _CHANGED)
        prev = e.hash
        checked += 1
    return ChainCheck(True, checked)


def iter_entries(session: Session, since: datetime | None = None, *, batch: int = 1000
                 ) -> Iterator[dict[str, Any]]:
    """Entries as JSON-ready dicts in chain order (with their hashes, so an export can be checked offline)."""
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=batch)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    for e in session.scalars(query):
        yield {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
               "object_type": e.object_type, "object_id": e.object_id, "data": e.data,
               "prev_hash": e.prev_hash, "hash": e.hash}
