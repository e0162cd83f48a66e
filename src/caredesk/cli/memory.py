"""Give the allocator's free pages back to the system once the models are loaded: training (or loading)
the triage model and building the knowledge index allocate far more than they keep, and glibc holds the
freed heap unless asked, so a server would carry it as resident memory for its whole life."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from pathlib import Path

__all__ = ["limit_malloc_arenas", "release_free_memory", "train_apart"]

M_ARENA_MAX = -8  # glibc's mallopt parameter number


def release_free_memory() -> bool:
    """Collect garbage, then malloc_trim(0) where the C library has it (glibc). True when trimmed."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # musl, macOS: nothing to trim this way
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """At most `arenas` glibc malloc arenas (as MALLOC_ARENA_MAX=2 would): by default every thread that
    allocates while another holds the lock gets an arena of its own, up to 8 per core, and each keeps the
    blocks its thread freed. The request threads of a server grow RSS that way under concurrent load. An
    operator's MALLOC_ARENA_MAX wins (glibc read it at start). True when set here."""
    import os

    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


def _train(models_root: str) -> None:
    from pathlib import Path

    from caredesk.triage.model import load_active_model

    load_active_model(Path(models_root))


def train_apart(models_root: Path) -> bool:
    """On a first start (no active triage model yet) train it in a child process, so that the server only
    loads the artefact: training leaves ~130 MB of fragments (vectoriser vocabularies, the corpus's vectors,
    the fitting's arrays) that glibc cannot hand back, and a server would carry them for its whole life.
    The same `load_active_model` trains and activates it. True when a child trained it."""
    import multiprocessing

    from caredesk.triage.model import ARTEFACT, active_version

    version = active_version(models_root)
    if version is not None and (models_root / "triage" / version / ARTEFACT).is_file():
        return False
    child = multiprocessing.get_context("spawn").Process(target=_train, args=(str(models_root),),
                                                         name="caredesk-train")
    child.start()
    child.join()
    return child.exitcode == 0  # else the server trains it itself, as before, and says why if that fails too
