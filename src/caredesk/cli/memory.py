"""Give the allocator's free pages back to the system once the models are loaded: training (or loading)
the triage model and building the knowledge index allocate far more than they keep, and glibc holds the
freed heap unless asked, so a server would carry it as resident memory for its whole life."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

__all__ = ["release_free_memory"]


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
