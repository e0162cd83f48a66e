"""What the profile shows of the outside sources, and asking for a refresh without waiting for it.

`source_statuses` lists every enabled source for one customer (with `pending` for one never fetched, and the CSV
import's record when there is one); `request_refresh` queues the fetch of the sources whose copy is missing or
expired and returns at once (the profile API and panel call it; the fetch is a background task)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.profiles.sources import CRM_IMPORT, SourcesFile, active_sources
from caredesk.storage.orm import CustomerSourceRecord

__all__ = ["REQUEST_WINDOW_SECONDS", "Enqueuer", "SourceStatus", "claim_requests", "due_sources", "request_refresh",
           "source_statuses"]

REQUEST_WINDOW_SECONDS = 30.0  # a refresh asked for again within this time (same process) is not queued twice


@dataclass(frozen=True)
class SourceStatus:
    name: str
    status: str  # ok | stale | failed | pending (never fetched yet)
    fetched_at: datetime | None  # when the fields shown were fetched (None: never)
    error: str | None  # why the last fetch failed, in words without customer data


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def source_statuses(session: Session, customer_id: str, *, sources: SourcesFile | None = None,
                    now: datetime | None = None) -> list[SourceStatus]:
    """Every enabled source in the file's order, then `crm_import` when the customer has its record. With `now`,
    a good copy past its cache lifetime reads `stale` (the refresh has not answered yet); without it the stored
    status is given as it is. One query."""
    config = sources or active_sources()
    rows = {r.source: r for r in session.scalars(
        select(CustomerSourceRecord).where(CustomerSourceRecord.customer_id == customer_id))}
    out = []
    for src in config.enabled:
        row = rows.get(src.name)
        if row is None:
            out.append(SourceStatus(src.name, "pending", None, None))
            continue
        status = row.status
        expires = _aware(row.expires_at)
        if now is not None and status == "ok" and expires is not None and expires <= now:
            status = "stale"
        out.append(SourceStatus(src.name, status, _aware(row.fetched_at), row.error))
    crm = rows.get(CRM_IMPORT)
    if crm is not None:
        out.append(SourceStatus(CRM_IMPORT, crm.status, _aware(crm.fetched_at), crm.error))
    return out


def due_sources(session: Session, customer_id: str, sources: SourcesFile, *, now: datetime) -> list[str]:
    """The enabled sources to fetch for the customer now: never fetched, or past the record's expiry (the
    cache lifetime after a good answer, the retry delay after a failure)."""
    expiry = {name: at for name, at in session.execute(
        select(CustomerSourceRecord.source, CustomerSourceRecord.expires_at)
        .where(CustomerSourceRecord.customer_id == customer_id))}
    out = []
    for src in sources.enabled:
        at = _aware(expiry.get(src.name))
        if src.name not in expiry or at is None or at <= now:
            out.append(src.name)
    return out


class Enqueuer(Protocol):
    def enqueue(self, fn: Callable[..., Any], *args: Any) -> None: ...


_requested: dict[tuple[str, str], float] = {}
_requested_lock = threading.Lock()


def claim_requests(customer_id: str, names: list[str]) -> list[str]:
    """The names not asked for `customer_id` (or any other key) within the window in this process; they are
    marked asked now."""
    mono = time.monotonic()
    with _requested_lock:
        if len(_requested) > 10_000:
            for key in [k for k, until in _requested.items() if until <= mono]:
                del _requested[key]
        fresh = [n for n in names if _requested.get((customer_id, n), 0.0) <= mono]
        for name in fresh:
            _requested[(customer_id, name)] = mono + REQUEST_WINDOW_SECONDS
    return fresh


def request_refresh(session: Session, queue: Enqueuer, customer_id: str, *, now: datetime,
                    sources: SourcesFile | None = None) -> list[str]:
    """Queue the fetch of the customer's due sources and return their names at once (nothing is fetched here).
    A refresh already asked for in the last REQUEST_WINDOW_SECONDS is not queued again; the task itself skips a
    source another worker refreshed meanwhile."""
    from caredesk.profiles.source_tasks import fetch_customer_sources

    config = sources or active_sources()
    if not config.enabled:
        return []
    names = claim_requests(customer_id, due_sources(session, customer_id, config, now=now))
    if names:
        queue.enqueue(fetch_customer_sources, customer_id, names)
    return names
