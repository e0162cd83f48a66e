"""The process's current knowledge index, swapped for a new one when the published entries change.
Kept free of scikit-learn imports so that commands which never search start fast."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.text.encoder import Embedder

__all__ = ["IndexedEntry", "KnowledgeStore"]

_log = logging.getLogger(__name__)

Signature = tuple[int, str]  # (published entries, fingerprint): see knowledge.queries.published_signature


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
    """Holds the current index and rebuilds it when the published entries' signature changes.

    Only the very first build makes callers wait. Afterwards one thread rebuilds while the others keep
    answering from the previous index; above `background_above` entries the rebuild runs in a thread of its
    own so that no request pays for it (a 100,000-entry build takes about a minute)."""

    def __init__(self, *, background_above: int = 20_000) -> None:
        self.background_above = background_above
        self._build_lock = threading.Lock()  # one build at a time; released by the thread that built
        self._index: KnowledgeIndex | None = None
        self._signature: Signature | None = None

    @property
    def signature(self) -> Signature | None:
        return self._signature

    def current(self, signature: Signature, load: Callable[[], list[IndexedEntry]], *,
                embedder: Embedder | None = None) -> KnowledgeIndex:
        index, built_for = self._index, self._signature
        if index is not None and built_for == signature:
            return index
        if index is None or built_for is None:
            with self._build_lock:
                if self._index is None or self._signature != signature:
                    self._build(signature, load, embedder)
            assert self._index is not None
            return self._index
        if not self._build_lock.acquire(blocking=False):
            return index  # another thread is rebuilding: answer from the previous index meanwhile
        if built_for[0] > self.background_above:
            threading.Thread(target=self._build_in_background, args=(signature, load, embedder),
                             name="knowledge-index", daemon=True).start()
            return index
        try:
            self._build(signature, load, embedder)
        finally:
            self._build_lock.release()
        assert self._index is not None
        return self._index

    def _build(self, signature: Signature, load: Callable[[], list[IndexedEntry]],
               embedder: Embedder | None) -> None:
        from caredesk.knowledge.retrieval import KnowledgeIndex

        self._index = KnowledgeIndex(load(), embedder=embedder)
        self._signature = signature

    def _build_in_background(self, signature: Signature, load: Callable[[], list[IndexedEntry]],
                             embedder: Embedder | None) -> None:
        try:
            self._build(signature, load, embedder)
            _log.info("knowledge index rebuilt: %d published entries", signature[0])
        except Exception:
            _log.exception("knowledge index rebuild failed")
        finally:
            self._build_lock.release()
