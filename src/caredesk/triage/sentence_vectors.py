"""Sentence vectors for the triage heads: the process's multilingual encoder (the knowledge base's), with a
bounded cache by text so that retraining in the same process (nightly retrain, tests, `caredesk eval`) does
not encode the same corpus again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

__all__ = ["SentenceVectors", "sentence_vectors"]

CACHE_SIZE = 40_000  # about 80 MB of float32 vectors at most
# The encoder's cost grows with length; a message's gist is in its first few hundred characters (the TF-IDF
# features still read all of it).
MAX_CHARS = 256


class SentenceVectors:
    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    @property
    def dims(self) -> int:
        from caredesk.knowledge.embedding import default_embedder

        return default_embedder().dims

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float64 row per text."""
        from caredesk.knowledge.embedding import default_embedder

        texts = [t[:MAX_CHARS] for t in texts]
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            fresh = default_embedder().encode(missing)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
                found = {t: self._cache[t] for t in missing}
        else:
            found = {}
        with self._lock:
            rows = [found.get(t) if t in found else self._cache.get(t) for t in texts]
        if any(r is None for r in rows):  # evicted between the two steps: encode those now
            return np.asarray(default_embedder().encode(list(texts)), dtype=np.float64)
        return np.asarray(rows, dtype=np.float64).reshape(len(texts), -1) if texts else np.zeros((0, self.dims))


_default = SentenceVectors()


def sentence_vectors() -> SentenceVectors:
    return _default
