"""Background learning tasks. `retrain_nightly` is registered as a periodic task by the composition root
(stored name `triage.retrain`, from before the learning loop left triage/): it retrains on seed corpus + agent
corrections and promotes the candidate only when it scores better."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from caredesk.clock import Clock
from caredesk.settings import Settings
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context

if TYPE_CHECKING:
    from caredesk.triage.pipeline import TriagePipeline

__all__ = ["retrain_nightly"]

log = logging.getLogger(__name__)


class TriageTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    queue: TaskQueue

    def uow(self) -> UnitOfWork: ...
    @property
    def triage(self) -> TriagePipeline: ...
    def set_pipeline(self, pipeline: TriagePipeline) -> None: ...


def retrain_nightly() -> dict[str, Any]:
    from caredesk.learning.retrain import do_retrain
    from caredesk.triage.pipeline import TriagePipeline

    rt: TriageTaskDeps = task_context()
    # Every worker's scheduler fires the task: one training a night, not one per worker racing to promote.
    if not rt.queue.first_this_minute("triage.retrain", rt.clock.now()):
        return {"skipped": "another worker retrains this minute"}
    outcome = do_retrain(rt.uow(), rt.settings.models_path, now=rt.clock.now())
    # this process answers with the new model at once; the others within Runtime.model_check_seconds
    if outcome.model is not None:
        rt.set_pipeline(TriagePipeline(outcome.model, rt.triage.names))
    return {"promoted": outcome.promoted, "reason": outcome.decision.reason,
            "candidate_version": outcome.candidate_version, "active_version": outcome.active_version,
            "n_corrections": outcome.n_corrections}
