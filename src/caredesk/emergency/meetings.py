"""Meeting providers. The built-in one makes a room link from a configured pattern (a Jitsi room or the
bank's bridge); a webhook provider for the bank's own system comes with issue 6."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["MeetingProvider", "PatternRoomProvider", "Room"]


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
