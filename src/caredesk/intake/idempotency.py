"""Idempotency-Key rules (pure): which keys are valid, what counts as the same request, how long a key holds.

A client that got an error or no answer retries with the same key; within KEY_LIFETIME the retry replays the
first successful answer, and the same key with another body is refused (a client bug, not a retry)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from caredesk.errors import InvalidIdempotencyKey

__all__ = ["KEY_LIFETIME", "KEY_MAX_CHARS", "KEY_PATTERN", "IdempotentRequest", "StoredResponse",
           "check_idempotency_key", "expiry_cutoff", "request_hash"]

KEY_LIFETIME = timedelta(hours=24)
KEY_MAX_CHARS = 255
# Printable ASCII, no space at either end (HTTP trims header values, so such a key could not come back
# the same). The OpenAPI schema publishes this pattern; the check below enforces it.
KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class IdempotentRequest:
    scope: str  # whose key it is (the caller): two callers' equal keys are unrelated
    key: str
    request_hash: str

    @classmethod
    def of(cls, scope: str, key: str, payload: Mapping[str, Any]) -> IdempotentRequest:
        return cls(scope, check_idempotency_key(key), request_hash(payload))


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def check_idempotency_key(key: str) -> str:
    if not key:
        raise InvalidIdempotencyKey("Idempotency-Key is empty", field="Idempotency-Key")
    if len(key) > KEY_MAX_CHARS:
        raise InvalidIdempotencyKey(f"Idempotency-Key is longer than {KEY_MAX_CHARS} characters",
                                    field="Idempotency-Key", limit=KEY_MAX_CHARS)
    if not _KEY.match(key):
        raise InvalidIdempotencyKey("Idempotency-Key must be printable ASCII, without a space at either end",
                                    field="Idempotency-Key")
    return key


def request_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, no spaces, UTF-8): the same request whatever the
    client's key order or spacing. Pass the parsed body with its defaults filled in, so that an omitted
    optional field and an explicit null are the same request."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def expiry_cutoff(now: datetime) -> datetime:
    """Keys created at or before this instant have expired: ignored, replaced by a new use, purged."""
    return now - KEY_LIFETIME
