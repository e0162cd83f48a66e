"""Refreshing a customer's profile: collect and clean the history, extract the declared features, score them
with the active model (or the cold-start rule) and write `customer_profile`, in one transaction. Idempotent:
a refresh run twice writes the same row (the background task may run again after a retry)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.errors import NotFound
from caredesk.profiles.features import ProfileRules, emotion_of_history, extract_features, load_rules
from caredesk.profiles.history import History, collect_histories
from caredesk.profiles.model import ProfileModel, ProfileScore, score_profile
from caredesk.storage.orm import Conversation, Customer, CustomerProfile, WorkOrder
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["RefreshResult", "build_profile", "customer_of", "do_refresh_all", "do_refresh_profile",
           "do_refresh_profiles"]

log = logging.getLogger(__name__)
BATCH = 200


@dataclass(frozen=True)
class RefreshResult:
    customer_id: str
    features: dict[str, float | None]
    score: ProfileScore
    emotion_current: str
    emotion_trend: str


def build_profile(history: History, rules: ProfileRules, model: ProfileModel | None, *, now: datetime
                  ) -> RefreshResult:
    """Pure: the features, scores, tags, drivers and emotion of one history at `now`."""
    features = extract_features(history, rules, now=now)
    current, trend = emotion_of_history(history, rules, now=now)
    return RefreshResult(history.customer_id, features, score_profile(model, rules, features), current, trend)


def _words(rules: ProfileRules, keys: Sequence[str]) -> list[str]:
    """The tags as a person reads them ("多次投诉", as the issue and the cold-start profile show them); the
    rules file maps the words back to the key and the English (`ProfileRules.tag_by_word`)."""
    return [tag.zh if (tag := rules.tag(key)) is not None else key for key in keys]


def _write(uow: UnitOfWork, result: RefreshResult, rules: ProfileRules, now: datetime) -> None:
    s = uow.session
    row = s.get(CustomerProfile, result.customer_id)
    if row is None:
        row = CustomerProfile(customer_id=result.customer_id, updated_at=now)
        s.add(row)
    sc = result.score
    row.features = dict(result.features)
    row.value_score, row.loyalty_score, row.escalation_risk = sc.value_score, sc.loyalty_score, sc.escalation_risk
    row.segment, row.tags, row.drivers = sc.segment, _words(rules, sc.tags), dict(sc.drivers)
    row.emotion_current, row.emotion_trend = result.emotion_current, result.emotion_trend
    row.model_version, row.features_at, row.updated_at = sc.model_version, now, now


def do_refresh_profiles(uow: UnitOfWork, customer_ids: Sequence[str], *, now: datetime,
                        model: ProfileModel | None = None, rules: ProfileRules | None = None
                        ) -> list[RefreshResult]:
    """Refresh several customers' profiles in one transaction (unknown ids are skipped)."""
    rules = rules or load_rules()
    with uow:
        histories = collect_histories(uow.session, customer_ids)
        results = [build_profile(h, rules, model, now=now) for h in histories.values()]
        for result in results:
            _write(uow, result, rules, now)
        uow.commit()
    return results


def do_refresh_profile(uow: UnitOfWork, customer_id: str, *, now: datetime, model: ProfileModel | None = None,
                       rules: ProfileRules | None = None) -> RefreshResult:
    """Extract, score and store one customer's profile; 404 for an unknown customer."""
    results = do_refresh_profiles(uow, [customer_id], now=now, model=model, rules=rules)
    if not results:
        raise NotFound("customer not found", id=customer_id)
    return results[0]


def do_refresh_all(uow: UnitOfWork, *, now: datetime, model: ProfileModel | None = None,
                   rules: ProfileRules | None = None, batch: int = BATCH) -> int:
    """Every customer's profile, BATCH customers per transaction; the number refreshed."""
    with uow:
        ids = list(uow.session.scalars(select(Customer.id).order_by(Customer.id)))
    done = 0
    for start in range(0, len(ids), batch):
        done += len(do_refresh_profiles(uow, ids[start:start + batch], now=now, model=model, rules=rules))
    return done


def customer_of(session: Session, kind: str, ref: str) -> str | None:
    """The customer behind a conversation, a work order or a customer id (the tasks are given any of them)."""
    if kind == "customer":
        return ref if session.get(Customer, ref) is not None else None
    if kind == "conversation":
        return session.scalar(select(Conversation.customer_id).where(Conversation.id == ref))
    if kind == "work_order":
        return session.scalar(select(WorkOrder.customer_id).where(WorkOrder.id == ref))
    raise ValueError(f"unknown kind {kind!r}")
