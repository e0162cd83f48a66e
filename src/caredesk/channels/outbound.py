"""What a channel's sender is given and returns, and the registry of senders by channel (filled by the
composition root: bootstrap/channels.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ChannelSender", "Outgoing", "SendRefused", "Senders", "Sent", "reaches_later"]


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


def reaches_later(sender: ChannelSender) -> bool:
    """Whether a message sent now reaches a customer who has left: true of an address (WeChat, SMS, e-mail),
    false of a session such as the open web chat (a sender says so with `reaches_later = False`)."""
    return bool(getattr(sender, "reaches_later", True))


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

    def reaches_later(self, channel: str) -> bool:
        """The channel has a sender whose messages reach a customer who has left (see `reaches_later`)."""
        sender = self._senders.get(channel)
        return sender is not None and reaches_later(sender)

    def __contains__(self, channel: object) -> bool:
        return channel in self._senders

    def channels(self) -> list[str]:
        return sorted(self._senders)
