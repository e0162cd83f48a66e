"""SMS through the bank's gateway: an HTTP POST of JSON `{"to", "text", "ref"}` with a bearer token."""

from __future__ import annotations

import httpx

__all__ = ["SmsError", "SmsGateway"]


class SmsError(OSError):
    """The gateway was not reached or refused the message; the queue retries."""


class SmsGateway:
    def __init__(self, url: str | None, token: str | None = None, *, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def send(self, to: str, text: str, ref: str) -> None:
        if not self.url:
            raise SmsError("no SMS gateway configured (CAREDESK_SMS_GATEWAY_URL)")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = httpx.post(self.url, json={"to": to, "text": text, "ref": ref}, headers=headers,
                                  timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise SmsError(f"SMS gateway not reached: {exc}") from exc
        if response.status_code >= 300:
            raise SmsError(f"SMS gateway answered HTTP {response.status_code}")
