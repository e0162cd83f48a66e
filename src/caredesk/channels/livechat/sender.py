"""The web chat's sender: a staff reply or a notice queued for a chat conversation (channels/delivery.py) is
"sent" by announcing its id on the conversation's live stream. The customer's open chat reads it from the
database; a chat that is closed now replays it when it reconnects, so a delivery is never lost with the page."""

from __future__ import annotations

from caredesk.channels.livechat.bus import ChatBus, ChatEvent
from caredesk.channels.livechat.state import CHAT
from caredesk.channels.outbound import Outgoing, Senders, Sent

__all__ = ["ChatSender", "chat_bus"]


class ChatSender:
    # A session, not an address: proactive notices skip it (the open chat shows the order's state itself) and
    # the survey goes by e-mail when the customer has an address (channels/outbound.reaches_later).
    reaches_later = False

    def __init__(self, bus: ChatBus) -> None:
        self.bus = bus  # the chat's streams (the web layer finds the bus here, through the runtime's senders)

    def send(self, out: Outgoing) -> Sent:
        self.bus.publish(out.conversation_id, ChatEvent("message", out.message_id))  # OSError: retried
        return Sent(external_id=None)


def chat_bus(channels: Senders) -> ChatBus | None:
    """The chat's live bus, owned by its sender (so the delivery task and the streams of one runtime share it)."""
    sender = channels.get(CHAT)
    return sender.bus if isinstance(sender, ChatSender) else None
