"""The stored per-entry question embeddings of knowledge retrieval (the encoder is caredesk.text.encoder).

Stored format of `KnowledgeEntry.embedding` (see `embed_entry_questions`): 4 bytes magic, 8 bytes digest of
the embedder's name and the questions' text, then float16 (questions x dims), little-endian. The digest lets a
loader tell a stale blob (questions edited since) from a current one, so a missed recomputation costs an
in-memory encode, never a wrong vector."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from caredesk.text.encoder import Embedder, embedding_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from caredesk.knowledge.store import IndexedEntry

__all__ = ["attach_embeddings", "decode_entry_embedding", "embed_entry_questions", "ensure_embeddings"]

_log = logging.getLogger("caredesk.knowledge.embedding")
_MAGIC = b"CDE1"
_DIGEST = 8
_HEADER = len(_MAGIC) + _DIGEST


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
