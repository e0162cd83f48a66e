"""Public identifiers: 32 hex characters, time-ordered (48-bit milliseconds + 80 random bits) like UUIDv7,
so that cursor pagination by id follows creation order on every database."""

from __future__ import annotations

import re
import secrets
import time

__all__ = ["is_id", "new_id"]

_ID = re.compile(r"^[0-9a-f]{32}$")


def new_id() -> str:
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def is_id(value: str) -> bool:
    return bool(_ID.match(value))
