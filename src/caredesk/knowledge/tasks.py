"""Background knowledge tasks. `generate_suggestions_daily` is registered as a periodic task by the
composition root; it is idempotent, so a run repeated (two workers, a retry) adds nothing."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from caredesk.clock import Clock
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context

if TYPE_CHECKING:
    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.knowledge.suggestion_actions import GenerateReport

__all__ = ["generate_suggestions", "generate_suggestions_daily"]

log = logging.getLogger(__name__)


class SuggestionDeps(Protocol):
    clock: Clock

    def uow(self) -> UnitOfWork: ...
    def knowledge_index(self) -> KnowledgeIndex: ...


def generate_suggestions(
    rt: SuggestionDeps, *, days: int = 1, min_size: int = 3, actor: str = "system"
) -> GenerateReport:
    """Run the clustering with the process's knowledge index (cached; fetched outside the write transaction,
    as `Runtime.knowledge_index` asks)."""
    # imported when it runs: the clustering's scikit-learn stays out of processes that only serve
    from caredesk.knowledge.suggestion_actions import do_generate_suggestions

    index = rt.knowledge_index()
    return do_generate_suggestions(
        rt.uow(), rt.clock.now(), days=days, min_size=min_size, index=index, actor=actor
    )


def generate_suggestions_daily(days: int = 1, min_size: int = 3) -> dict[str, int]:
    report = generate_suggestions(task_context(), days=days, min_size=min_size)
    log.info(
        "knowledge suggestions: %d questions, %d clusters, %d new, %d grown",
        report.questions,
        report.clusters,
        report.created,
        report.updated,
    )
    return {
        "questions": report.questions,
        "clusters": report.clusters,
        "created": report.created,
        "updated": report.updated,
    }
