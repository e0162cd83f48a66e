"""Meeting providers. The built-in one makes a room link from a configured pattern (a Jitsi room or the
bank's bridge); the webhook provider asks the bank's own meeting system for a room over HTTP."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx

from caredesk.errors import Unavailable
from caredesk.notify.webhook import sign

if TYPE_CHECKING:
    from caredesk.settings import Settings

__all__ = ["MeetingProvider", "PatternRoomProvider", "Room", "WebhookRoomProvider", "build_meeting_provider"]


@dataclass(frozen=True)
class Room:
    provider: str
    url: str


class MeetingProvider(Protocol):
    def create_room(self, meeting_id: str, title: str) -> Room: ...


class PatternRoomProvider:
    name = "pattern"

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def create_room(self, meeting_id: str, title: str) -> Room:
        return Room(self.name, self.pattern.format(meeting_id=meeting_id))


class WebhookRoomProvider:
    """POSTs `{"meeting_id", "title"}` (signed like the chat-ops webhooks when a secret is set) and expects
    `{"url": "https://..."}` back. When the bank's system does not answer, the fallback pattern gives a room,
    so that an emergency never waits on a meeting system."""

    name = "webhook"

    def __init__(self, url: str, secret: str | None = None, *, fallback: PatternRoomProvider | None = None,
                 timeout: float = 5.0) -> None:
        self.url, self.secret, self.fallback, self.timeout = url, secret, fallback, timeout

    def _ask(self, meeting_id: str, title: str) -> str:
        body = json.dumps({"meeting_id": meeting_id, "title": title}, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", "X-CareDesk-Timestamp": stamp}
        if self.secret:
            headers["X-CareDesk-Signature"] = sign(self.secret, stamp, body)
        response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        response.raise_for_status()
        url = response.json().get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ValueError("the meeting system answered without an http(s) url")
        return url

    def create_room(self, meeting_id: str, title: str) -> Room:
        try:
            return Room(self.name, self._ask(meeting_id, title))
        except (httpx.HTTPError, ValueError) as exc:
            if self.fallback is None:
                raise Unavailable(f"meeting system not available: {exc}") from exc
            return Room(f"{self.fallback.name}:fallback", self.fallback.create_room(meeting_id, title).url)


def build_meeting_provider(settings: Settings) -> MeetingProvider:
    pattern = PatternRoomProvider(settings.meeting_url_pattern)
    if settings.meeting_provider == "webhook":
        if not settings.meeting_webhook_url:
            raise ValueError("CAREDESK_MEETING_PROVIDER=webhook needs CAREDESK_MEETING_WEBHOOK_URL")
        return WebhookRoomProvider(settings.meeting_webhook_url, settings.meeting_webhook_secret, fallback=pattern)
    return pattern
