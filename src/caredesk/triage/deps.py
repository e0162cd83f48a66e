"""What the triage preview (`caredesk triage`) needs from the running application, and nothing more, so that
triage does not import the composition root. The runtime satisfies it; a test may pass anything shaped like it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from caredesk.intake.decision import DecisionPolicy
from caredesk.triage.doc import TriageDoc

if TYPE_CHECKING:  # the index module loads numpy and the encoder; a type is all this needs
    from caredesk.knowledge.retrieval import KnowledgeIndex

__all__ = ["PreviewDeps"]


class PreviewDeps(Protocol):
    @property
    def triage(self) -> Callable[[str], TriageDoc]: ...  # the current pipeline; only called here
    @property
    def decision_policy(self) -> DecisionPolicy: ...
    def knowledge_index(self) -> KnowledgeIndex: ...
