"""An alarm notice's delivery statuses and allowed moves: in-app notices are sent at once, SMS without a
number or gateway is skipped, quiet hours hold a notice (cancelled if the alarm is handled meanwhile), and a
failed send is retried by the queue until it is sent. A send is claimed (`sending`) before it goes out and
recorded after; a claim whose worker died is taken again when it lapses. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["DELIVERY_MOVES", "SENDABLE", "DeliveryStatus", "check_delivery_move"]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    HELD = "held"
    SENDING = "sending"  # claimed by a worker: sent, or being sent, but not yet recorded
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


DELIVERY_MOVES: Mapping[DeliveryStatus, frozenset[DeliveryStatus]] = MappingProxyType({
    # in-app notices are sent at once, the others are claimed by the delivery task
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.HELD, DeliveryStatus.SENDING, DeliveryStatus.SENT,
                                       DeliveryStatus.SKIPPED}),
    DeliveryStatus.HELD: frozenset({DeliveryStatus.SENDING, DeliveryStatus.CANCELLED}),
    # a lapsed claim is taken again (its worker died before recording: the notice may have gone)
    DeliveryStatus.SENDING: frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SENDING}),
    # the queue's retry; or a send recorded after another worker's attempt failed
    DeliveryStatus.FAILED: frozenset({DeliveryStatus.SENDING, DeliveryStatus.SENT}),
    DeliveryStatus.SENT: frozenset(),
    DeliveryStatus.SKIPPED: frozenset(),
    DeliveryStatus.CANCELLED: frozenset(),
})

# The statuses the delivery task may claim: those from which a notice can still be sent.
SENDABLE = frozenset(s for s, targets in DELIVERY_MOVES.items() if DeliveryStatus.SENDING in targets)


def check_delivery_move(current: str, new: DeliveryStatus) -> DeliveryStatus:
    return check_move(DELIVERY_MOVES, current, new, noun="alarm notice")
