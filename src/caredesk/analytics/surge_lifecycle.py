"""A surge once detected: read, listed, acknowledged and resolved by a supervisor (the API and the pages). Kept
apart from detection (caredesk.analytics.surge_actions), whose statistics need scipy: a serving process that
only shows and moves surges does not load it."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.alarms.strategy import QuietHours
from caredesk.analytics.surge_notices import tell_surge
from caredesk.analytics.surge_status import SurgeStatus, check_surge_move
from caredesk.analytics.thresholds import SERIES_DIMENSIONS, SurgeSettings
from caredesk.compliance.audit import record_audit
from caredesk.storage.orm import Surge
from caredesk.storage.rows import row_by_id
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["SERIES_DIMENSIONS", "count_detected", "do_acknowledge_surge", "do_resolve_surge", "get_surge",
           "list_surges"]



def get_surge(session: Session, surge_id: str, *, lock: bool = False) -> Surge:
    return row_by_id(session, Surge, surge_id, what="surge", lock=lock)


def count_detected(session: Session, start: datetime, end: datetime) -> int:
    """Surges stored with `detected_at` in [start, end)."""
    return int(session.scalar(select(func.count()).select_from(Surge).where(
        Surge.detected_at >= start, Surge.detected_at < end)) or 0)


def list_surges(session: Session, *, since: datetime | None = None, limit: int = 500,
                statuses: frozenset[SurgeStatus] | None = None, dimension: str | None = None) -> list[Surge]:
    """Newest first; `statuses` and `dimension` narrow the list (the surges page's filter)."""
    stmt = select(Surge)
    if since is not None:
        stmt = stmt.where(Surge.detected_at >= since)
    if statuses is not None:
        stmt = stmt.where(Surge.status.in_(sorted(s.value for s in statuses)))
    if dimension is not None:
        stmt = stmt.where(Surge.dimension == dimension)
    return list(session.scalars(stmt.order_by(Surge.detected_at.desc(), Surge.id).limit(limit)))


def do_acknowledge_surge(uow: UnitOfWork, surge_id: str, *, actor: str, staff_id: str | None,
                         now: datetime) -> Surge:
    with uow:
        surge = get_surge(uow.session, surge_id, lock=True)
        surge.status = check_surge_move(surge.status, SurgeStatus.ACKNOWLEDGED)
        surge.acknowledged_at, surge.acknowledged_by = now, staff_id
        record_audit(uow.session, actor=actor, action="surge.acknowledged", object_type="analytics_surge",
                     object_id=surge.id, data={"dimension": surge.dimension, "value": surge.value}, now=now)
        uow.commit()
    return surge


def do_resolve_surge(uow: UnitOfWork, surge_id: str, *, actor: str, staff_id: str | None, now: datetime,
                     notices: SurgeSettings | None = None, tz: tzinfo = UTC, quiet: QuietHours | None = None
                     ) -> Surge:
    """Resolved by a supervisor: audited, and told once as when it resolves on its own (`notices`: the
    thresholds file's `surges`; the shipped defaults if not given)."""
    with uow:
        surge = get_surge(uow.session, surge_id, lock=True)
        surge.status = check_surge_move(surge.status, SurgeStatus.RESOLVED)
        surge.resolved_at = now
        if surge.acknowledged_at is None:
            surge.acknowledged_at, surge.acknowledged_by = now, staff_id
        record_audit(uow.session, actor=actor, action="surge.resolved", object_type="analytics_surge",
                     object_id=surge.id, data={"dimension": surge.dimension, "value": surge.value}, now=now)
        tell_surge(uow.session, surge, "resolved", notices or SurgeSettings(), now=now, tz=tz, quiet=quiet)
        uow.commit()
    return surge
