"""Background profile tasks. `refresh_profile` runs after every committed customer message and answered survey
(bootstrap subscribes it to those events), so a profile is current within seconds; `train_profiles_daily`
refits the model periodically and promotes only a better one; `update_segments_hourly` moves the segment
centroids one partial_fit step towards the profiles refreshed in the last hour. Tasks take ids and are
idempotent (a refresh recomputes the whole profile from the records)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.clock import Clock
from caredesk.profiles.actions import customer_of, do_refresh_all, do_refresh_profile
from caredesk.profiles.features import load_rules
from caredesk.profiles.model import feature_matrix, load_active
from caredesk.settings import Settings
from caredesk.storage.orm import CustomerProfile
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context

__all__ = ["ProfileTaskDeps", "refresh_profile", "train_profiles_daily", "update_segments_hourly"]

log = logging.getLogger(__name__)


class ProfileTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    queue: TaskQueue
    session_factory: sessionmaker[Session]

    def uow(self) -> UnitOfWork: ...


def refresh_profile(kind: str, ref: str, requested_at: str = "") -> None:
    """Refresh the profile of the customer behind a customer, conversation or work-order id. A refresh
    requested at `requested_at` (ISO) is skipped when the profile was extracted after that (a burst of
    messages from one customer costs one refresh, not one each). Returns nothing: the queue keeps no result."""
    rt: ProfileTaskDeps = task_context()
    with rt.session_factory() as session:
        customer_id = customer_of(session, kind, ref)
        if customer_id is None:
            return
        done_at = session.scalar(select(CustomerProfile.features_at)
                                 .where(CustomerProfile.customer_id == customer_id))
    if requested_at and done_at is not None and done_at > datetime.fromisoformat(requested_at):
        return
    do_refresh_profile(rt.uow(), customer_id, now=rt.clock.now(), model=load_active(rt.settings.models_path))


def train_profiles_daily() -> dict[str, Any]:
    from caredesk.profiles.training import do_train_profiles

    rt: ProfileTaskDeps = task_context()
    if not rt.queue.first_this_minute("profiles.train", rt.clock.now()):
        return {"skipped": "another worker trains this minute"}
    outcome = do_train_profiles(rt.uow(), rt.settings.models_path, now=rt.clock.now(), trigger="scheduled")
    refreshed = 0
    if outcome.model is not None:  # every profile scored by the new model
        refreshed = do_refresh_all(rt.uow(), now=rt.clock.now(), model=outcome.model)
    return {"promoted": outcome.promoted, "reason": outcome.reason, "candidate_version": outcome.candidate_version,
            "auc_recent": outcome.candidate_metrics.get("auc_recent"), "refreshed": refreshed}


def update_segments_hourly() -> dict[str, Any]:
    """One partial_fit of the active model's clustering on the last hour's refreshed profiles, saved in
    place (the same version: the segments drift, the risk model does not change)."""
    rt: ProfileTaskDeps = task_context()
    now = rt.clock.now()
    if not rt.queue.first_this_minute("profiles.update_segments", now):
        return {"skipped": "another worker updates this minute"}
    model = load_active(rt.settings.models_path)
    if model is None:
        return {"skipped": "no trained profile model"}
    rules = load_rules()
    with rt.session_factory() as session:
        rows = list(session.scalars(select(CustomerProfile.features)
                                    .where(CustomerProfile.updated_at >= now - timedelta(hours=1)).limit(5000)))
    if len(rows) < rules.segments.clusters:
        return {"skipped": f"{len(rows)} profiles refreshed in the last hour"}
    model.update_segments(feature_matrix(rows, model.feature_names))
    model.save(rt.settings.models_path)
    return {"updated": len(rows), "version": model.version}
