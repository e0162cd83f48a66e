"""SMS through the bank's gateway: an HTTP POST of JSON `{"to", "text", "ref"}` with a bearer token.

Alarm SMS to staff use `send` (any failure is retried by the queue); customer SMS (channels/sms) use `deliver`,
which tells a permanent refusal from a transient failure and returns the gateway's message id, which its
delivery receipts name. `post` is the one HTTP client of both, also used for the provider's own API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["SmsError", "SmsGateway", "SmsRefused", "post"]

# 4xx that a retry may cure: the gateway timed out waiting or throttles us
_TRANSIENT_4XX = frozenset({408, 409, 425, 429})


class SmsError(OSError):
    """The gateway was not reached or refused the message; the queue retries."""


class SmsRefused(Exception):
    """The gateway refused the message for good (bad number, blocked, unauthorised): retrying cannot help."""


def post(url: str, *, headers: Mapping[str, str] | None = None, json: Any = None,
         data: Mapping[str, str] | None = None, timeout: float = 10.0) -> httpx.Response:
    """One POST; SmsError when the gateway is not reached (the caller judges the answer)."""
    try:
        return httpx.post(url, json=json, data=data, headers=dict(headers or {}), timeout=timeout)
    except httpx.HTTPError as exc:
        raise SmsError(f"SMS gateway not reached: {exc}") from exc


class SmsGateway:
    def __init__(self, url: str | None, token: str | None = None, *, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def _post(self, to: str, text: str, ref: str) -> httpx.Response:
        if not self.url:
            raise SmsError("no SMS gateway configured (CAREDESK_SMS_GATEWAY_URL)")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return post(self.url, json={"to": to, "text": text, "ref": ref}, headers=headers, timeout=self.timeout)

    def send(self, to: str, text: str, ref: str) -> None:
        response = self._post(to, text, ref)
        if response.status_code >= 300:
            raise SmsError(f"SMS gateway answered HTTP {response.status_code}")

    def deliver(self, to: str, text: str, ref: str) -> str | None:
        """Send; the gateway's message id (`{"id": ...}` in its answer) or None. SmsRefused on a 4xx that a
        retry cannot cure; SmsError (transient) otherwise."""
        response = self._post(to, text, ref)
        status = response.status_code
        if 400 <= status < 500 and status not in _TRANSIENT_4XX:
            raise SmsRefused(f"SMS gateway refused the message: HTTP {status}")
        if status >= 300:
            raise SmsError(f"SMS gateway answered HTTP {status}")
        try:
            body = response.json()
        except ValueError:
            return None
        found = body.get("id") if isinstance(body, dict) else None
        return str(found)[:128] if found not in (None, "") else None
