"""Who may post to the SMS webhooks. Our generic webhook: `X-CareDesk-Signature: t=UNIX,v1=HEX`, HMAC-SHA256
with the shared secret over `t.body` (the scheme of CareDesk's own outgoing webhooks), refused when older or
newer than the tolerance (a replayed capture); or, for gateways that cannot sign, a shared token in
`X-CareDesk-Token`. Aliyun's pushes are not signed: their URL carries a token (`?token=`)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from caredesk.channels.sms.errors import SmsSignatureRefused

__all__ = ["check_generic", "check_token", "sign"]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value a gateway sends (tests and the docs' example use it)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _parts(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            macs.append(value)
    if timestamp is None or not macs:
        raise SmsSignatureRefused("the signature header is not t=UNIX,v1=HEX", reason="malformed")
    return timestamp, macs


def check_generic(*, signature: str | None, token: str | None, body: bytes, secret: str | None,
                  shared_token: str | None, now: datetime, tolerance: int) -> None:
    """Pass, or SmsSignatureRefused (403) saying why (malformed, stale, mismatch, missing, not configured)."""
    if secret and signature:
        timestamp, macs = _parts(signature)
        if abs(now.timestamp() - timestamp) > tolerance:
            raise SmsSignatureRefused("the signature is stale (its timestamp is out of tolerance)", reason="stale")
        expected = sign(secret, timestamp, body).split("v1=", 1)[1]
        if not any(hmac.compare_digest(expected, m) for m in macs):
            raise SmsSignatureRefused("the signature does not match the body", reason="mismatch")
        return
    if shared_token and token:
        check_token(token, shared_token)
        return
    if not secret and not shared_token:
        raise SmsSignatureRefused("the SMS webhook is not configured (CAREDESK_SMS_INBOUND_SECRET or "
                                  "CAREDESK_SMS_INBOUND_TOKEN)", reason="not_configured")
    raise SmsSignatureRefused("no signature or token", reason="missing")


def check_token(given: str | None, expected: str | None) -> None:
    if not expected:
        raise SmsSignatureRefused("the provider's callback token is not configured", reason="not_configured")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise SmsSignatureRefused("wrong callback token", reason="mismatch")
