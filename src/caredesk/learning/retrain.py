"""Retraining with promotion: train a candidate on the train part of (seed corpus + agent corrections), score
it and the active model on the held-out part, and make the candidate active only when `should_promote` says
it is better. Every run is recorded (a `triage_training_run` row and an audit entry) whatever the outcome.

The split is by a stable hash of the text, so the same text is held out every night and a model promoted
here has never seen the held-out part. A model trained by `caredesk train` (on everything) has seen it: the
comparison then favours the incumbent, which errs on the side of keeping a working model."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from caredesk.compliance.audit import record_audit
from caredesk.learning.correction_actions import correction_records
from caredesk.learning.promotion import PromotionDecision, should_promote
from caredesk.storage.orm import TrainingRun
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.triage.examples import Example, merge_examples
from caredesk.triage.model import (
    TriageModel,
    activate,
    active_version,
    load_active_model,
    read_corpus,
    seed_corpus_path,
)
from caredesk.triage.training import score_model, train_examples

__all__ = ["RetrainOutcome", "do_retrain", "split_holdout"]

log = logging.getLogger(__name__)

Trainer = Callable[[Sequence[Example]], TriageModel]
HOLDOUT_SHARE = 0.2


def _fit_all(examples: Sequence[Example]) -> TriageModel:
    return train_examples(examples, holdout=0)


def split_holdout(examples: Sequence[Example], share: float = HOLDOUT_SHARE
                  ) -> tuple[list[Example], list[Example]]:
    """(train, held out), by a stable hash of each text: the same text lands on the same side every run."""
    train: list[Example] = []
    held: list[Example] = []
    cut = int(share * 10_000)
    for e in examples:
        digest = hashlib.blake2b(e.text.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest, "big") % 10_000
        (held if bucket < cut else train).append(e)
    return train, held


@dataclass(frozen=True)
class RetrainOutcome:
    run_id: str
    decision: PromotionDecision
    candidate_version: str
    active_version: str | None
    n_corrections: int
    candidate_metrics: dict[str, Any]
    active_metrics: dict[str, Any] | None
    model: TriageModel | None = field(default=None, repr=False)  # the new active model when promoted

    @property
    def promoted(self) -> bool:
        return self.decision.promote


def _active_metrics(root: Path, held: Sequence[Example]) -> tuple[str | None, dict[str, Any] | None]:
    version = active_version(root)
    if version is None:
        return None, None
    try:
        active = load_active_model(root, train_if_missing=False)
    except Exception as exc:
        log.warning("active triage model %s could not be loaded (%s); comparing with none", version, exc)
        return version, None
    return active.version, score_model(active, held)


def do_retrain(uow: UnitOfWork, models_root: Path, *, now: datetime, trigger: str = "nightly",
               actor: str = "system", seed_rows: Sequence[Mapping[str, str]] | None = None,
               trainer: Trainer = _fit_all, holdout_share: float = HOLDOUT_SHARE) -> RetrainOutcome:
    with uow:  # a short read; training runs outside any transaction
        records = correction_records(uow.session)
    rows = list(seed_rows) if seed_rows is not None else read_corpus(seed_corpus_path())
    examples = merge_examples(rows, records)
    train, held = split_holdout(examples, holdout_share)
    candidate = trainer(train)
    cand_metrics = score_model(candidate, held)
    old_version, act_metrics = _active_metrics(models_root, held)
    decision = should_promote(cand_metrics, act_metrics)
    n_corrections = sum(1 for e in examples if e.corrected)
    candidate.metrics |= {"holdout": cand_metrics, "n_corrections": n_corrections, "n_train": len(train),
                          "trained_on": "train split (retrain)", "compared_with": old_version}
    if decision.promote:
        activate(candidate, models_root)
    with uow:
        run = TrainingRun(trigger=trigger, candidate_version=candidate.version, active_version=old_version,
                          promoted=decision.promote, reason=decision.reason[:500],
                          n_corrections=n_corrections,
                          candidate_metrics=cand_metrics, active_metrics=act_metrics or {}, created_at=now)
        uow.session.add(run)
        uow.session.flush()
        record_audit(uow.session, actor=actor, action="triage.retrain", object_type="triage_model",
                     object_id=candidate.version,
                     data={"promoted": decision.promote, "reason": decision.reason, "active": old_version,
                           "candidate_score": decision.candidate_score, "active_score": decision.active_score,
                           "n_corrections": n_corrections, "run_id": run.id}, now=now)
        run_id = run.id
        uow.commit()
    log.info("triage retrain %s: %s (%s)", candidate.version,
             "promoted" if decision.promote else "kept active", decision.reason)
    return RetrainOutcome(run_id, decision, candidate.version, old_version, n_corrections, cand_metrics,
                          act_metrics, candidate if decision.promote else None)
