"""Sentence vectors for the triage heads: the process's multilingual encoder (the knowledge base's), with a
bounded cache by text so that retraining in the same process (nightly retrain, tests, `caredesk eval`) does
not encode the same corpus again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

__all__ = ["SentenceVectors", "opening", "sentence_vectors"]

CACHE_SIZE = 40_000  # about 80 MB of float32 vectors at most
# The encoder's cost grows with its input's tokens, and a message's gist is in its opening (the TF-IDF features
# still read all of it): about 128 tokens of each, which is 256 characters of English and 128 of Chinese (one
# token per Chinese character). Measured on the dev split (docs/performance.md): Chinese at 256 characters put
# the per-message p99 at 12.8 ms, at 128 at 9.0 ms, for one hotel review's urgency.
MAX_CHARS = 256
MAX_CHARS_CJK = 128


def opening(text: str) -> str:
    """The part of `text` the encoder reads: the first MAX_CHARS characters, or MAX_CHARS_CJK when most of
    those are Chinese characters."""
    head = text[:MAX_CHARS]
    cjk = sum("\u4e00" <= c <= "\u9fff" for c in head)
    return head[:MAX_CHARS_CJK] if 2 * cjk > len(head) else head


class SentenceVectors:
    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cache)

    def encode(self, texts: Sequence[str], *, keep: bool = False) -> np.ndarray:
        """One unit-length float64 row per text. Only `keep=True` (a training corpus) adds to the cache; by default
        it is looked up and left alone: serving would fill it with every message the process sees, while the
        encoder's own small cache already serves repeated messages."""
        from caredesk.text.encoder import default_embedder

        embedder = default_embedder()
        keys = [opening(t) for t in texts]
        with self._lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            known.update(zip(missing, embedder.encode(missing), strict=True))
        if missing and keep:
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
