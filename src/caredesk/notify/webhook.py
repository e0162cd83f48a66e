"""Chat-ops webhooks (WeCom, DingTalk, Feishu, Slack, or a generic JSON receiver), signed.

Every request carries `X-CareDesk-Timestamp` and `X-CareDesk-Signature: v1=<hex HMAC-SHA256 of
"<timestamp>.<body>">`, so a receiver can refuse forged or replayed posts. DingTalk and Feishu robots also get
their own signature scheme (DingTalk in the query string, Feishu in the body), each also HMAC-SHA256 over the
timestamp, as their robot "signature" security setting expects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["SignedRequest", "WebhookError", "build_webhook_request", "post_webhook", "sign", "verify"]

TOLERANCE_SECONDS = 300


class WebhookError(OSError):
    """The receiver refused the post (HTTP status or the robot's error code); the queue retries."""


@dataclass(frozen=True)
class SignedRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: datetime) -> bool:
    """For receivers (and tests): a valid signature over a timestamp no older than five minutes."""
    try:
        fresh = abs(now.timestamp() - int(timestamp)) <= TOLERANCE_SECONDS
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def _robot_sign(secret: str, string_to_sign: str, *, key_is_string: bool) -> str:
    key, msg = (string_to_sign.encode(), b"") if key_is_string else (secret.encode(), string_to_sign.encode())
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def _payload(kind: str, text: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind in ("wecom", "dingtalk"):
        return {"msgtype": "text", "text": {"content": text}}
    if kind == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    if kind == "slack":
        return {"text": text}
    return {"text": text, **data}


def build_webhook_request(kind: str, url: str, secret: str | None, text: str, data: dict[str, Any], *,
                          now: datetime) -> SignedRequest:
    payload = _payload(kind, text, data)
    seconds = str(int(now.timestamp()))
    if secret and kind == "feishu":
        payload |= {"timestamp": seconds, "sign": _robot_sign(secret, f"{seconds}\n{secret}", key_is_string=True)}
    if secret and kind == "dingtalk":
        millis = str(int(now.timestamp() * 1000))
        robot = quote(_robot_sign(secret, f"{millis}\n{secret}", key_is_string=False), safe="")
        url = f"{url}{'&' if '?' in url else '?'}timestamp={millis}&sign={robot}"
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "X-CareDesk-Timestamp": seconds}
    if secret:
        headers["X-CareDesk-Signature"] = sign(secret, seconds, body)
    return SignedRequest(url, headers, body)


def post_webhook(request: SignedRequest, *, timeout: float = 10.0) -> None:
    try:
        response = httpx.post(request.url, content=request.body, headers=request.headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise WebhookError(f"webhook not reached: {exc}") from exc
    if response.status_code >= 300:
        raise WebhookError(f"webhook answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        return
    # The robots answer 200 with an error code in the body when they refuse a post.
    code = answer.get("errcode", answer.get("code", 0)) if isinstance(answer, dict) else 0
    if code not in (0, None, "0"):
        raise WebhookError(f"webhook refused the post: code {code}")
