"""What the composition root (bootstrap.py, through channels/wiring.py) takes from this package: its tasks,
its event subscribers, its senders by channel and its HTTP routes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter

from caredesk.channels.livechat.bus import ChatBus, ChatEvent
from caredesk.channels.livechat.sender import ChatSender
from caredesk.channels.livechat.state import CHAT

if TYPE_CHECKING:
    from caredesk.channels.outbound import ChannelSender, Senders
    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["chat_bus", "register_tasks", "router", "senders", "subscribe"]

log = logging.getLogger(__name__)
router = APIRouter()


def register_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one."""


def subscribe(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again)."""
    from sqlalchemy import select

    from caredesk.storage.orm import Conversation, WorkOrder
    from caredesk.workorders.events import WorkOrderChanged

    def order_changed(e: WorkOrderChanged) -> None:
        bus = chat_bus(rt.channels)
        if bus is None:
            return
        with rt.session_factory() as s:
            conversation_id = s.scalar(select(Conversation.id).join(WorkOrder, WorkOrder.conversation_id
                                                                    == Conversation.id)
                                       .where(WorkOrder.id == e.work_order_id, Conversation.channel == CHAT))
        if conversation_id is not None:
            # the customer's stream reads the order again: its number, queue place, agent, survey
            bus.publish(conversation_id, ChatEvent("state"))

    rt.subscribers.subscribe(WorkOrderChanged, order_changed, name="livechat:order state")


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """channel -> sender, for the channels this package delivers to."""
    return {CHAT: ChatSender(ChatBus(settings.redis_url))}


def chat_bus(channels: Senders) -> ChatBus | None:
    """The chat's live bus, owned by its sender (so the delivery task and the streams of one runtime share it)."""
    sender = channels.get(CHAT)
    return sender.bus if isinstance(sender, ChatSender) else None
