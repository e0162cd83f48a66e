"""Every channel and integration package, wired in one place: bootstrap asks here for their tasks,
subscribers and senders, and the app factory for their routes. Each package's own `wiring.py` says what it
brings; this module only lists them, so that adding a channel is one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.channels.calls import wiring as calls
from caredesk.channels.livechat import wiring as livechat
from caredesk.channels.mail import wiring as mail
from caredesk.channels.notices import wiring as notices
from caredesk.channels.outbound import Senders
from caredesk.channels.sms import wiring as sms
from caredesk.channels.wechat import wiring as wechat
from caredesk.integrations.connectors import wiring as connectors
from caredesk.integrations.webhooks import wiring as webhooks

if TYPE_CHECKING:
    from fastapi import APIRouter

    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["build_senders", "register_tasks", "routers", "subscribe"]

PACKAGES = (livechat, wechat, mail, sms, calls, notices, webhooks, connectors)


def register_tasks(queue: TaskQueue) -> None:
    from caredesk.channels.delivery import deliver_message

    # Replies and notices to the customer's channel: the task retries transient failures itself.
    queue.register("channels.deliver_message", deliver_message, retries=5, retry_delay=30)
    for package in PACKAGES:
        package.register_tasks(queue)


def subscribe(rt: Runtime) -> None:
    from caredesk.channels.delivery import deliver_message
    from caredesk.channels.events import DeliveryDue

    rt.subscribers.subscribe_task(DeliveryDue, lambda e, row: rt.queue.enqueue(deliver_message, e.delivery_id, row),
                                  name="queue:channel delivery")
    for package in PACKAGES:
        package.subscribe(rt)


def build_senders(settings: Settings) -> Senders:
    senders = Senders()
    for package in PACKAGES:
        for channel, sender in package.senders(settings).items():
            senders.add(channel, sender)
    return senders


def routers() -> list[APIRouter]:
    return [package.router for package in PACKAGES]
