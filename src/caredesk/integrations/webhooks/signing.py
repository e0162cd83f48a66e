"""The delivery signature: `X-CareDesk-Signature: t=UNIX,v1=HEX`, HMAC-SHA256 with the subscription's secret over
`f"{t}.{body}"` (the exact bytes sent). A receiver recomputes it and refuses a stale `t` (replayed requests)."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "signature_header", "verify"]

SIGNATURE_HEADER = "X-CareDesk-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: t within `tolerance` seconds of `now`, and a v1 that matches."""
    parts = [p.partition("=") for p in header.split(",")]
    stamps = [v for k, _, v in parts if k.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit():
        return False
    t = int(stamps[0])
    if abs(now - t) > tolerance:
        return False
    expected = sign(secret, t, body)
    return any(k.strip() == "v1" and hmac.compare_digest(v.strip(), expected) for k, _, v in parts)
