"""The process's current knowledge index, swapped for a new one when the published entries change.
Kept free of scikit-learn imports so that commands which never search start fast."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caredesk.knowledge.embedding import Embedder
    from caredesk.knowledge.retrieval import KnowledgeIndex

__all__ = ["IndexedEntry", "KnowledgeStore"]


@dataclass(frozen=True)
class IndexedEntry:
    entry_id: str
    version: int
    content_type: str
    problem_type: str
    question: str
    similar_questions: tuple[str, ...]
    answer: str
    # `KnowledgeEntry.embedding` (see knowledge/embedding.py): the questions' sentence embeddings, so that a
    # large index loads without re-encoding; None (or a stale blob) means "encode when indexing".
    embedding: bytes | None = field(default=None, repr=False, compare=False)


class KnowledgeStore:
    """Holds the current index; rebuilt when the published entries' signature changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: KnowledgeIndex | None = None
        self._signature: tuple[int, str] | None = None

    def current(self, signature: tuple[int, str], load: Callable[[], list[IndexedEntry]], *,
                embedder: Embedder | None = None) -> KnowledgeIndex:
        if signature != self._signature or self._index is None:
            with self._lock:
                if signature != self._signature or self._index is None:
                    from caredesk.knowledge.retrieval import KnowledgeIndex

                    self._index = KnowledgeIndex(load(), embedder=embedder)
                    self._signature = signature
        return self._index
