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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float64 row per text."""
        from caredesk.text.encoder import default_embedder

        embedder = default_embedder()
        keys = [t[:MAX_CHARS] for t in texts]
        with self._lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            known.update(zip(missing, embedder.encode(missing), strict=True))
            with self._lock:
                self._cache.update((k, known[k]) for k in missing)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        if not keys:
            return np.zeros((0, embedder.dims))
        return np.asarray([known[k] for k in keys], dtype=np.float64)


_default = SentenceVectors()


def sentence_vectors() -> SentenceVectors:
    return _default
