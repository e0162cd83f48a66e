"""What the outside sources last said about a customer, as the profile panel shows it: each source's name,
status (ok | stale | failed), when it was fetched and why it is not ok. One small read of
`customer_source_record`, kept apart so that `profiles.source_fetch.source_statuses` (the sources' own module)
can replace it without touching the read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, bindparam, select
from sqlalchemy.orm import Session

from caredesk.compliance.masking import mask_text
from caredesk.storage.orm import CustomerSourceRecord

__all__ = ["SourceStatus", "source_statuses"]


@dataclass(frozen=True)
class SourceStatus:
    name: str
    status: str  # ok | stale | failed
    fetched_at: datetime | None
    error: str | None  # why it is stale or failed, masked (an error may quote what the source sent)


_SOURCES = (select(CustomerSourceRecord.source, CustomerSourceRecord.status, CustomerSourceRecord.fetched_at,
                   CustomerSourceRecord.error)
            .where(CustomerSourceRecord.customer_id == bindparam("customer_id", type_=String()))
            .order_by(CustomerSourceRecord.source))  # built once: the profile read is a hot path


def source_statuses(session: Session, customer_id: str) -> list[SourceStatus]:
    """The customer's sources, by name; one statement."""
    rows = session.execute(_SOURCES, {"customer_id": customer_id})
    return [SourceStatus(name, status, fetched_at, mask_text(error)[0] if error else None)
            for name, status, fetched_at, error in rows]
