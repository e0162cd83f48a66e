"""What an alarm action leaves for after its commit: notices to deliver (now or after quiet hours), the
next escalation check, and live events for the workbench. Actions fill it; `release` runs on commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["DELIVER_TASK", "ESCALATE_TASK", "AlarmOutbox"]

DELIVER_TASK = "escalation.deliver_alarm_notice"
ESCALATE_TASK = "escalation.escalate_alarm"


class _Queue(Protocol):
    def enqueue(self, name: str, *args: Any) -> None: ...
    def schedule(self, name: str, *args: Any, delay: float) -> None: ...


class _Live(Protocol):
    def publish(self, event: dict[str, Any]) -> None: ...


@dataclass
class AlarmOutbox:
    deliveries: list[tuple[str, float]] = field(default_factory=list)  # (delivery id, delay in seconds)
    escalations: list[tuple[str, int, float]] = field(default_factory=list)  # (alarm id, level, delay)
    events: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, delivery_id: str, delay: float = 0.0) -> None:
        self.deliveries.append((delivery_id, max(0.0, delay)))

    def escalate(self, alarm_id: str, level: int, delay: float) -> None:
        self.escalations.append((alarm_id, level, max(0.0, delay)))

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def release(self, queue: _Queue, live: _Live) -> None:
        """Call after the commit. Tasks take ids and re-check state, so a lost or repeated one is harmless."""
        for event in self.events:
            live.publish(event)
        for delivery_id, delay in self.deliveries:
            if delay > 0:
                queue.schedule(DELIVER_TASK, delivery_id, delay=delay)
            else:
                queue.enqueue(DELIVER_TASK, delivery_id)
        for alarm_id, level, delay in self.escalations:
            queue.schedule(ESCALATE_TASK, alarm_id, level, delay=delay)
        self.deliveries, self.escalations, self.events = [], [], []
