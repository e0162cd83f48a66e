"""What the analytics actions record for after their commit (see caredesk/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.events import DomainEvent, domain_event

__all__ = ["ThresholdNoticeDue"]


@domain_event("analytics.threshold_notice_due")
@dataclass(frozen=True)
class ThresholdNoticeDue(DomainEvent):
    """A threshold rule was breached or recovered: send this notice (the in-app notices are already written)."""

    notice_id: str
