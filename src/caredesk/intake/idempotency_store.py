"""Idempotency keys in the database: the answer kept for a key, the claim a request takes on its key inside
its own transaction, and the purge of expired keys.

Concurrent requests with one key: the unique (scope, key) decides. The first inserts its row at the start of
its transaction; the second's insert waits for that transaction (PostgreSQL's unique index; SQLite has one
writer at a time) and then fails if the first committed, and the second replays the first's answer. If the
first rolled back, the second goes ahead as if it were first. So the loser waits and replays; it never does
the work twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from caredesk.intake.idempotency import IdempotentRequest, StoredResponse, expiry_cutoff
from caredesk.storage.orm import IdempotencyRecord

__all__ = ["AlreadyAnswered", "KeyClaim", "purge_expired_keys", "stored_response"]

T = TypeVar("T")


class AlreadyAnswered(Exception):
    """Raised inside the transaction when another request with the key committed first: the transaction is
    rolled back and `response` is the answer to replay."""

    def __init__(self, response: StoredResponse) -> None:
        super().__init__("the idempotency key was answered by a concurrent request")
        self.response = response


def _live(session: Session, req: IdempotentRequest, now: datetime) -> IdempotencyRecord | None:
    return session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.scope == req.scope, IdempotencyRecord.key == req.key,
        IdempotencyRecord.created_at > expiry_cutoff(now)))


def _answer(row: IdempotencyRecord, req: IdempotentRequest) -> StoredResponse | None:
    """The kept answer; IdempotencyKeyReused when the key came with another body (None: not answered)."""
    if row.request_hash != req.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request body; "
                                   "use a new key for a new request", field="Idempotency-Key")
    if row.status is None or row.body is None:
        return None
    return StoredResponse(row.status, cast(dict[str, Any], json.loads(row.body)))


def stored_response(session: Session, req: IdempotentRequest, *, now: datetime) -> StoredResponse | None:
    """The answer kept for this caller's key if it has not expired (None: the request is new), read before
    any work is done; IdempotencyKeyReused when the body differs."""
    row = _live(session, req, now)
    return _answer(row, req) if row is not None else None


@dataclass
class KeyClaim(Generic[T]):
    """A request's hold on its key inside the transaction of its work. `take` at the start of the
    transaction; `keep(result)` just before the commit stores the answer that `render` makes of the result,
    in the same transaction."""

    request: IdempotentRequest
    render: Callable[[T], StoredResponse]
    response: StoredResponse | None = None
    _row: IdempotencyRecord | None = field(default=None, repr=False)

    def take(self, session: Session, *, now: datetime) -> None:
        """Insert the key's row. AlreadyAnswered when a concurrent request with the key committed first;
        IdempotencyKeyReused when it did so with another body."""
        req = self.request
        session.execute(delete(IdempotencyRecord).where(  # an expired use of the key gives way to this one
            IdempotencyRecord.scope == req.scope, IdempotencyRecord.key == req.key,
            IdempotencyRecord.created_at <= expiry_cutoff(now)))
        row = IdempotencyRecord(scope=req.scope, key=req.key, request_hash=req.request_hash, created_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # the other request has committed (its insert held ours until then)
            other = _live(session, req, now)
            answer = _answer(other, req) if other is not None else None
            if answer is None:  # not readable yet (or purged meanwhile): the client retries shortly
                raise IdempotencyKeyInProgress("a request with this Idempotency-Key is in progress; retry",
                                               retry_after=1) from None
            raise AlreadyAnswered(answer) from None
        self._row = row

    def keep(self, result: T) -> StoredResponse:
        if self._row is None:
            raise RuntimeError("KeyClaim.keep before take")
        response = self.render(result)
        self._row.status = response.status
        self._row.body = json.dumps(response.body, ensure_ascii=False, separators=(",", ":"))
        self.response = response
        return response


def purge_expired_keys(session: Session, *, now: datetime, batch: int = 1000) -> int:
    """Delete up to `batch` expired keys (they are ignored already; this only frees the space)."""
    ids = list(session.scalars(select(IdempotencyRecord.id).where(
        IdempotencyRecord.created_at <= expiry_cutoff(now)).limit(batch)))
    if not ids:
        return 0
    result = cast(CursorResult[Any], session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)).execution_options(
            synchronize_session=False)))
    return int(result.rowcount or 0)
