"""What a channel's sender is given and returns, and the registry of senders by channel (filled by the
composition root from each channel package's `wiring.senders`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ChannelSender", "Outgoing", "SendRefused", "Senders", "Sent"]


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver. `text` is as written, for the customer only: never logged."""

    delivery_id: str
    message_id: str
    conversation_id: str
    channel: str
    kind: str  # reply | notice | survey
    text: str
    language: str | None
    account: str | None  # the channel account the contact wrote to ("" when the channel has one)
    address: str | None  # openid, e-mail address, phone number; None for a channel without one (the web chat)
    case_number: str | None = None  # the conversation's latest work order, for threading (e-mail subjects)


@dataclass(frozen=True)
class Sent:
    external_id: str | None = None  # the provider's message id, named by its delivery receipts


class SendRefused(Exception):
    """The provider refused the message for good (invalid address, opted out at the provider): no retry.
    A transient failure is an OSError (the queue retries)."""


class ChannelSender(Protocol):
    def send(self, out: Outgoing) -> Sent: ...


class Senders:
    """channel -> sender. A channel without a sender keeps its messages in the conversation only (the API, an
    imported history)."""

    def __init__(self, senders: Mapping[str, ChannelSender] | None = None) -> None:
        self._senders = dict(senders or {})

    def add(self, channel: str, sender: ChannelSender) -> None:
        if channel in self._senders:
            raise ValueError(f"channel {channel!r} already has a sender")
        self._senders[channel] = sender

    def get(self, channel: str) -> ChannelSender | None:
        return self._senders.get(channel)

    def __contains__(self, channel: object) -> bool:
        return channel in self._senders

    def channels(self) -> list[str]:
        return sorted(self._senders)
