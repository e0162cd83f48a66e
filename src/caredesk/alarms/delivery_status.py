"""An alarm notice's delivery statuses and allowed moves: in-app notices are sent at once, SMS without a
number or gateway is skipped, quiet hours hold a notice (cancelled if the alarm is handled meanwhile), and a
failed send is retried by the queue until it is sent. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["DELIVERY_MOVES", "SENDABLE", "DeliveryStatus", "check_delivery_move"]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    HELD = "held"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


DELIVERY_MOVES: Mapping[DeliveryStatus, frozenset[DeliveryStatus]] = MappingProxyType({
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.HELD, DeliveryStatus.SENT, DeliveryStatus.FAILED,
                                       DeliveryStatus.SKIPPED}),
    DeliveryStatus.HELD: frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED}),
    DeliveryStatus.FAILED: frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED}),  # a retry may fail again
    DeliveryStatus.SENT: frozenset(),
    DeliveryStatus.SKIPPED: frozenset(),
    DeliveryStatus.CANCELLED: frozenset(),
})

# The statuses the delivery task may claim: those from which a notice can still be sent.
SENDABLE = frozenset(s for s, targets in DELIVERY_MOVES.items() if DeliveryStatus.SENT in targets)


def check_delivery_move(current: str, new: DeliveryStatus) -> DeliveryStatus:
    return check_move(DELIVERY_MOVES, current, new, noun="alarm notice")
