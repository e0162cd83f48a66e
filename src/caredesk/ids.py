"""Public identifiers: 32 hex characters, time-ordered (48-bit milliseconds + 80 random bits) like UUIDv7,
so that cursor pagination by id follows creation order on every database."""

from __future__ import annotations

import re
import secrets
import threading
import time

__all__ = ["is_id", "new_id"]

_ID = re.compile(r"^[0-9a-f]{32}$")


_RANDOM_BITS = 80
_last = 0
_lock = threading.Lock()


def new_id() -> str:
    """Strictly increasing within the process: two ids of the same millisecond (a message and the reply
    created right after it, which share a timestamp) keep the order they were made in."""
    global _last
    with _lock:
        value = (int(time.time() * 1000) << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
        if value <= _last:
            value = _last + 1
        _last = value
    return f"{value:032x}"


def is_id(value: str) -> bool:
    return bool(_ID.match(value))
