"""What the composition root (bootstrap.py, through channels/wiring.py) takes from this package: its tasks,
its event subscribers, its senders by channel and its HTTP routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.integrations.webhooks.routes import router

if TYPE_CHECKING:
    from caredesk.channels.outbound import ChannelSender
    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["register_tasks", "router", "senders", "subscribe"]


def register_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one."""
    from huey import crontab

    from caredesk.integrations.webhooks.tasks import (
        email_disabled_notice,
        prune_webhook_log,
        send_due_webhooks,
        sweep_webhooks,
    )

    # Deliveries keep their own retry schedule (backoff on the row): the task itself need not retry much.
    queue.register("webhooks.send_due", send_due_webhooks, retries=1, retry_delay=30)
    queue.register_periodic("webhooks.sweep", sweep_webhooks, crontab(minute="*"))
    queue.register("webhooks.email_disabled_notice", email_disabled_notice, retries=5, retry_delay=30)
    # 17:30 UTC (01:30 in Beijing), after the compliance retention run.
    queue.register_periodic("webhooks.prune_log", prune_webhook_log, crontab(hour="17", minute="30"))


def subscribe(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again)."""
    from caredesk.alarms.events import AlarmChanged
    from caredesk.intake.events import MessageReceived
    from caredesk.integrations.webhooks.events import DeliveriesDue, EndpointDisabled
    from caredesk.integrations.webhooks.fanout import from_alarm, from_message, from_milestone, publisher
    from caredesk.integrations.webhooks.tasks import email_disabled_notice, send_due_webhooks
    from caredesk.workorders.events import WorkOrderMilestone

    rt.subscribers.subscribe(MessageReceived, publisher(rt, from_message), name="webhooks:message")
    rt.subscribers.subscribe(WorkOrderMilestone, publisher(rt, from_milestone), name="webhooks:work order")
    rt.subscribers.subscribe(AlarmChanged, publisher(rt, from_alarm), name="webhooks:alarm")
    rt.subscribers.subscribe(DeliveriesDue, lambda e: rt.queue.enqueue(send_due_webhooks), name="queue:webhooks")
    rt.subscribers.subscribe_task(EndpointDisabled,
                                  lambda e, row: rt.queue.enqueue(email_disabled_notice, e.subscription_id, row),
                                  name="queue:webhook disabled notice")


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """channel -> sender, for the channels this package delivers to."""
    return {}
