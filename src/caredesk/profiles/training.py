"""Training the profile model on our own history, and promoting only a better one.

Examples: weekly cut-offs; for each customer known before a cut-off, the features of the history before it and
the label "an outcome in the `horizon_days` after it" (an escalation alarm, a complaint at the declared level
or above: regulator, media, lawsuit; an account closed as a source says). Time split: the cut-offs of the most
recent `holdout_weeks` are held out; training uses only the cut-offs whose outcome window ended before the
first held-out one (no look-ahead). The candidate's escalation-risk AUC on the held-out weeks is compared with
the active model's on the same examples; the candidate becomes active only when it is higher by more than
`min_gain`. Every run is recorded (`profile_training_run` and an audit entry) whatever the outcome."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sqlalchemy import select

from caredesk.compliance.audit import record_audit
from caredesk.profiles.features import ProfileRules, extract_features, load_rules
from caredesk.profiles.history import History, collect_histories
from caredesk.profiles.model import (
    ProfileModel,
    activate,
    active_version,
    feature_matrix,
    load_active,
    name_segments,
    new_version,
)
from caredesk.storage.orm import Customer, ProfileTrainingRun
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["Example", "TrainOutcome", "auc_of", "do_train_profiles", "examples_of", "fit_model", "outcome_in",
           "should_promote", "split_by_time"]

log = logging.getLogger(__name__)
STEP = timedelta(days=7)


def fit_model(rules: ProfileRules, rows: Sequence[Mapping[str, float | None]], labels: Sequence[int],
              segment_rows: Sequence[Mapping[str, float | None]], *, version: str | None = None,
              seed: int = 7, batch: int = 256) -> ProfileModel:
    """Fit the Pipeline and the segments. The imputer and the scaler learn the customers as they are now
    (`segment_rows`: outside sources' fields are known for the present only), the classifier learns
    (features before a cut-off -> outcome after it) on that scale; the segments by partial_fit in batches."""
    names = rules.names
    x = feature_matrix(rows, names)
    current = feature_matrix(segment_rows, names) if segment_rows else x
    k = rules.segments.clusters
    if len(current) < k:
        raise ValueError(f"{len(current)} customers cannot make {k} segments")
    pipeline = Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                         ("scale", StandardScaler()),
                         ("risk", LogisticRegression(C=0.5, class_weight="balanced", max_iter=1000))])
    pipeline[:-1].fit(current)
    pipeline[-1].fit(pipeline[:-1].transform(x), np.asarray(labels, dtype=int))
    model = ProfileModel(version or new_version(), names, pipeline,
                         MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=batch), [])
    z = model.standardise(current)
    order = np.random.default_rng(seed).permutation(len(z))
    parts = [z[order[start:start + batch]] for start in range(0, len(z), batch)]
    for part in [p for p in parts if len(p) >= k] or [z]:
        model.segments.partial_fit(part)
    model.segment_names = name_segments(rules, names, model.segments.cluster_centers_)
    return model


@dataclass(frozen=True, slots=True)
class Example:
    customer_id: str
    cutoff: datetime
    features: dict[str, float | None]
    label: int


def _closed_at(history: History, rules: ProfileRules) -> datetime | None:
    rule = rules.outcomes.closed_account
    if rule is None:
        return None
    for facts in history.sources:
        if str(facts.fields.get(rule.field, "")).strip().lower() != rule.equals.lower():
            continue
        raw = facts.fields.get(rule.at_field) if rule.at_field else None
        if isinstance(raw, str):
            try:
                at = datetime.fromisoformat(raw)
                return at if at.tzinfo else at.replace(tzinfo=facts.fetched_at.tzinfo if facts.fetched_at else None)
            except ValueError:
                pass
        return facts.fetched_at
    return None


def outcome_in(history: History, rules: ProfileRules, start: datetime, end: datetime) -> bool:
    """Whether one of the declared outcomes happened in [start, end)."""
    out = rules.outcomes
    if out.alarm and any(start <= a.at < end for a in history.alarms):
        return True
    if out.complaint_level_min is not None and any(
            start <= i.at < end and i.complaint_level >= out.complaint_level_min for i in history.interactions):
        return True
    closed = _closed_at(history, rules)
    return closed is not None and start <= closed < end


def cutoffs(now: datetime, horizon: timedelta, weeks: int) -> list[datetime]:
    """Weekly cut-offs, oldest first, the newest one `horizon` before now (its outcome window has ended)."""
    newest = now - horizon
    return [newest - STEP * k for k in range(weeks - 1, -1, -1)]


def examples_of(histories: Iterable[History], rules: ProfileRules, *, now: datetime, weeks: int = 26
                ) -> list[Example]:
    horizon = timedelta(days=rules.outcomes.horizon_days)
    points = cutoffs(now, horizon, weeks)
    out = []
    for history in histories:
        first = history.first_at
        if first is None:
            continue
        closed = _closed_at(history, rules)
        for cut in points:
            if cut <= first or (closed is not None and closed < cut):
                continue  # not a customer yet, or gone already
            before = history.until(cut)
            label = int(outcome_in(history, rules, cut, cut + horizon))
            out.append(Example(history.customer_id, cut, extract_features(before, rules, now=cut), label))
    return out


def split_by_time(examples: Sequence[Example], *, holdout_weeks: int, horizon: timedelta
                  ) -> tuple[list[Example], list[Example]]:
    """(train, held out): the newest `holdout_weeks` cut-offs held out; training keeps only the cut-offs
    whose outcome window closed before the first held-out cut-off."""
    points = sorted({e.cutoff for e in examples})
    if len(points) <= holdout_weeks:
        return list(examples), []
    first_held = points[-holdout_weeks]
    held = [e for e in examples if e.cutoff >= first_held]
    train = [e for e in examples if e.cutoff + horizon <= first_held]
    return train, held


def auc_of(model: ProfileModel, examples: Sequence[Example]) -> float | None:
    """ROC AUC of the model's escalation risk; None without both outcomes among the examples."""
    labels = [e.label for e in examples]
    if len(set(labels)) < 2:
        return None
    x = feature_matrix([e.features for e in examples], model.feature_names)
    return round(float(roc_auc_score(labels, model.risk(model.standardise(x)))), 4)


@dataclass(frozen=True, slots=True)
class Decision:
    promote: bool
    reason: str


def should_promote(candidate_auc: float | None, active_auc: float | None, *, has_active: bool,
                   min_gain: float = 0.0) -> Decision:
    """Pure: only a candidate with a held-out AUC, better than the active model's by more than `min_gain`."""
    if candidate_auc is None:
        return Decision(False, "candidate has no held-out AUC (the held-out weeks lack one of the outcomes)")
    if not has_active:
        return Decision(True, f"no active model; candidate AUC {candidate_auc:.4f}")
    if active_auc is None:
        return Decision(True, f"active model cannot be scored on these features; candidate AUC {candidate_auc:.4f}")
    if candidate_auc <= active_auc + min_gain:
        return Decision(False, f"candidate AUC {candidate_auc:.4f} is not better than active {active_auc:.4f}"
                        + (f" by more than {min_gain}" if min_gain else ""))
    return Decision(True, f"candidate AUC {candidate_auc:.4f} beats active {active_auc:.4f}")


@dataclass(frozen=True)
class TrainOutcome:
    run_id: str
    promoted: bool
    reason: str
    candidate_version: str
    active_version: str | None
    candidate_metrics: dict[str, Any]
    active_metrics: dict[str, Any]
    model: ProfileModel | None = field(default=None, repr=False)  # the new active model when promoted


def _metrics(auc: float | None, held: Sequence[Example], train: Sequence[Example]) -> dict[str, Any]:
    positives = sum(e.label for e in held)
    return {"auc_recent": auc, "n_holdout": len(held), "holdout_positive": positives, "n_train": len(train),
            "train_positive": sum(e.label for e in train)}


def _active(root: Path, rules: ProfileRules) -> ProfileModel | None:
    try:
        model = load_active(root)
    except Exception as exc:  # a broken artefact: compare with none rather than refuse to train
        log.warning("active profile model could not be loaded (%s); comparing with none", type(exc).__name__)
        return None
    return model if model is not None and model.feature_names == rules.names else None


def do_train_profiles(uow: UnitOfWork, models_root: Path, *, now: datetime, trigger: str = "manual",
                      actor: str = "system", rules: ProfileRules | None = None, weeks: int = 26,
                      holdout_weeks: int = 4, min_gain: float = 0.0, max_customers: int = 20_000,
                      histories: Mapping[str, History] | None = None) -> TrainOutcome:
    """Train a candidate on the history, compare it with the active model on the held-out recent weeks,
    promote only a better one; record the run. Training runs outside any transaction."""
    rules = rules or load_rules()
    if histories is None:
        with uow:
            ids = list(uow.session.scalars(select(Customer.id).order_by(Customer.id)))
            if len(ids) > max_customers:  # an even sample keeps the run within minutes
                ids = ids[:: max(1, len(ids) // max_customers)][:max_customers]
            histories = collect_histories(uow.session, ids)
    horizon = timedelta(days=rules.outcomes.horizon_days)
    examples = examples_of(histories.values(), rules, now=now, weeks=weeks)
    train, held = split_by_time(examples, holdout_weeks=holdout_weeks, horizon=horizon)
    current = [extract_features(h, rules, now=now) for h in histories.values()]
    old_version = active_version(models_root)
    if len({e.label for e in train}) < 2 or len(current) < rules.segments.clusters:
        candidate = None
        cand_metrics = _metrics(None, held, train)
        decision = Decision(False, f"not enough history to train: {len(train)} examples, "
                                   f"{sum(e.label for e in train)} with an outcome, {len(current)} customers")
    else:
        candidate = fit_model(rules, [e.features for e in train], [e.label for e in train], current)
        cand_metrics = _metrics(auc_of(candidate, held), held, train)
        active = _active(models_root, rules)
        act_auc = auc_of(active, held) if active is not None else None
        decision = should_promote(cand_metrics["auc_recent"], act_auc, has_active=old_version is not None,
                                  min_gain=min_gain)
        candidate.metrics |= cand_metrics | {"trained_at": now.isoformat(), "compared_with": old_version,
                                             "active_auc_recent": act_auc, "positive_rate":
                                             round(float(np.mean([e.label for e in train])), 4)}
        if decision.promote:
            activate(candidate, models_root)
    act_metrics = {"auc_recent": candidate.metrics.get("active_auc_recent") if candidate else None}
    version = candidate.version if candidate else "none"
    with uow:
        run = ProfileTrainingRun(trigger=trigger, candidate_version=version, active_version=old_version,
                                 promoted=decision.promote, reason=decision.reason[:500],
                                 candidate_metrics=cand_metrics, active_metrics=act_metrics, created_at=now)
        uow.session.add(run)
        uow.session.flush()
        record_audit(uow.session, actor=actor, action="profiles.train", object_type="profile_model",
                     object_id=version, data={"promoted": decision.promote, "reason": decision.reason,
                                              "active": old_version, "run_id": run.id,
                                              "auc_recent": cand_metrics["auc_recent"]}, now=now)
        run_id = run.id
        uow.commit()
    log.info("profile model %s: %s (%s)", version, "promoted" if decision.promote else "kept active", decision.reason)
    return TrainOutcome(run_id, decision.promote, decision.reason, version, old_version, cand_metrics,
                        act_metrics, candidate if decision.promote else None)
