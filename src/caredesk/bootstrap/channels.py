"""The composition root's part for the customer channels and the integrations: their queued tasks, who hears
which domain event, the senders by channel and the connectors. Split from bootstrap/__init__.py by area; like
it, the only place that wires (the channel and integration packages never import the runtime)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from caredesk.channels.outbound import ChannelSender, Senders
from caredesk.settings import Settings

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime
    from caredesk.integrations.connectors.client import Connectors
    from caredesk.tasks.app import TaskQueue

__all__ = ["build_connectors", "build_senders", "register_channel_tasks", "subscribe_channels"]

log = logging.getLogger(__name__)


def register_channel_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one. (The IMAP watcher is a process of its own:
    `caredesk mail watch`.)"""
    from huey import crontab

    from caredesk.channels.delivery import deliver_message
    from caredesk.channels.wechat.wecom_sync import sync_wecom
    from caredesk.integrations.connectors.crm import enrich_customer, push_complaint
    from caredesk.integrations.webhooks.tasks import (
        email_disabled_notice,
        prune_webhook_log,
        send_due_webhooks,
        sweep_webhooks,
    )

    # Replies and notices to the customer's channel: the task retries transient failures itself.
    queue.register("channels.deliver_message", deliver_message, retries=5, retry_delay=30)
    # WeCom customer service: pull the messages a callback announced (a transient API failure retries)
    queue.register("channels.wecom_sync", sync_wecom, retries=3, retry_delay=10)
    # a CRM that is down fails the task (CrmUnavailable): tried again a few times, a minute apart
    queue.register("connectors.enrich_customer", enrich_customer, retries=3, retry_delay=60)
    queue.register("connectors.push_complaint", push_complaint, retries=5, retry_delay=60)
    # Webhook deliveries keep their own retry schedule (backoff on the row): the task itself need not retry much.
    queue.register("webhooks.send_due", send_due_webhooks, retries=1, retry_delay=30)
    queue.register_periodic("webhooks.sweep", sweep_webhooks, crontab(minute="*"))
    queue.register("webhooks.email_disabled_notice", email_disabled_notice, retries=5, retry_delay=30)
    # 17:30 UTC (01:30 in Beijing), after the compliance retention run.
    queue.register_periodic("webhooks.prune_log", prune_webhook_log, crontab(hour="17", minute="30"))


def subscribe_channels(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again)."""
    from caredesk.channels.delivery import deliver_message
    from caredesk.channels.events import DeliveryDue

    rt.subscribers.subscribe_task(DeliveryDue, lambda e, row: rt.queue.enqueue(deliver_message, e.delivery_id, row),
                                  name="queue:channel delivery")
    _subscribe_livechat(rt)
    _subscribe_notices(rt)
    _subscribe_webhooks(rt)
    _subscribe_crm(rt)


def _subscribe_livechat(rt: Runtime) -> None:
    from sqlalchemy import select

    from caredesk.channels.livechat.bus import ChatEvent
    from caredesk.channels.livechat.sender import chat_bus
    from caredesk.channels.livechat.state import CHAT
    from caredesk.storage.orm import Conversation, WorkOrder
    from caredesk.workorders.events import WorkOrderChanged

    bus = chat_bus(rt.channels)
    if bus is None:
        return

    def order_changed(e: WorkOrderChanged) -> None:
        with rt.session_factory() as s:
            conversation_id = s.scalar(select(Conversation.id).join(WorkOrder, WorkOrder.conversation_id
                                                                    == Conversation.id)
                                       .where(WorkOrder.id == e.work_order_id, Conversation.channel == CHAT))
        if conversation_id is not None:
            # the customer's stream reads the order again: its number, queue place, agent, survey
            bus.publish(conversation_id, ChatEvent("state"))

    rt.subscribers.subscribe(WorkOrderChanged, order_changed, name="livechat:order state")


def _subscribe_notices(rt: Runtime) -> None:
    """Notices are not a handler: a timeline hook queues them in the transaction of the change itself. The
    notices file is read and checked here, at start."""
    from caredesk.channels.notices.config import load_notices
    from caredesk.channels.notices.queueing import notice_hook
    from caredesk.workorders.timeline_hooks import add_timeline_hook

    config = load_notices(rt.settings.notices_file)
    if rt.settings.notices_enabled:
        add_timeline_hook(rt.session_factory, notice_hook(config, rt.channels))


def _subscribe_webhooks(rt: Runtime) -> None:
    from datetime import timedelta

    from caredesk.alarms.events import AlarmChanged
    from caredesk.intake.events import MessageReceived
    from caredesk.integrations.webhooks.events import DeliveriesDue, EndpointDisabled
    from caredesk.integrations.webhooks.fanout import (
        ActiveSubscriptions,
        from_alarm,
        from_message,
        from_milestone,
        publisher,
    )
    from caredesk.integrations.webhooks.tasks import email_disabled_notice, send_due_webhooks
    from caredesk.workorders.events import WorkOrderMilestone

    on = rt.subscribers.subscribe
    subscriptions = ActiveSubscriptions(timedelta(seconds=rt.settings.webhook_freshness_seconds))
    on(MessageReceived, publisher(rt, from_message, subscriptions), name="webhooks:message")
    on(WorkOrderMilestone, publisher(rt, from_milestone, subscriptions), name="webhooks:work order")
    on(AlarmChanged, publisher(rt, from_alarm, subscriptions), name="webhooks:alarm")
    on(DeliveriesDue, lambda e: rt.queue.enqueue(send_due_webhooks), name="queue:webhooks")
    rt.subscribers.subscribe_task(EndpointDisabled,
                                  lambda e, row: rt.queue.enqueue(email_disabled_notice, e.subscription_id, row),
                                  name="queue:webhook disabled notice")


def _subscribe_crm(rt: Runtime) -> None:
    """The CRM, when one is configured: a new customer is looked up (tier, name), a complaint pushed."""
    from sqlalchemy import select

    from caredesk.intake.events import MessageReceived
    from caredesk.integrations.connectors.crm import enrich_customer, first_contact, push_complaint
    from caredesk.storage.orm import TriageResult

    crm = rt.connectors.enabled("crm")
    if crm is None:
        return
    lookup = crm.operation("lookup_by_ref") or crm.operation("lookup_by_phone")
    update = crm.operations.update

    def on_message(event: Any) -> None:
        with rt.session_factory() as s:
            customer_id = first_contact(s, event.conversation_id) if lookup is not None else None
            triage = s.scalar(select(TriageResult).where(TriageResult.message_id == event.message_id)) \
                if update is not None else None
        complaint = triage is not None and triage.problem_type == "complaint"
        if customer_id is not None:
            rt.queue.enqueue(enrich_customer, customer_id)
        if complaint:
            rt.queue.enqueue(push_complaint, event.message_id)

    rt.subscribers.subscribe(MessageReceived, on_message, name="queue:CRM")


def build_connectors(settings: Settings) -> Connectors:
    """The configured connectors, checked now (a bad file stops the start with its file, line and field), their
    breakers shared through Redis when it is configured. A variable an enabled connector reads that is not set
    is logged (each call fails until it is: `caredesk connectors validate` says so too)."""
    from caredesk.integrations.connectors.breaker import make_breakers
    from caredesk.integrations.connectors.client import Connectors
    from caredesk.integrations.connectors.config import load_connectors

    config = load_connectors(settings.connectors_file)
    for name, variable in config.missing_env(os.environ):
        log.error("connector %s: environment variable %s is not set", name, variable)
    return Connectors(config, make_breakers(settings.redis_url))


def build_senders(settings: Settings) -> Senders:
    """channel -> sender. WeChat and WeCom when an account of each is configured (the accounts are loaded and
    checked here, at start: a mistake stops the start); SMS by Aliyun or the generic gateway when configured."""
    from caredesk.channels.livechat.bus import ChatBus
    from caredesk.channels.livechat.sender import ChatSender
    from caredesk.channels.livechat.state import CHAT
    from caredesk.channels.mail.sender import MailSender

    senders = Senders({CHAT: ChatSender(ChatBus(settings.redis_url)), "email": MailSender(settings)})
    for channel, sender in (_wechat_senders(settings) | _sms_senders(settings)).items():
        senders.add(channel, sender)
    return senders


def _wechat_senders(settings: Settings) -> dict[str, ChannelSender]:
    from caredesk.channels.wechat.accounts import load_accounts
    from caredesk.channels.wechat.service import AccountSender, WeChatService
    from caredesk.channels.wechat.shared_state import shared_state

    accounts = load_accounts(settings)
    if not accounts.wechat and not accounts.wecom:
        return {}
    service = WeChatService(settings, accounts, shared_state(settings.redis_url))
    kinds = [kind for kind, configured in (("wechat", accounts.wechat), ("wecom", accounts.wecom)) if configured]
    return {kind: AccountSender(service, kind) for kind in kinds}


def _sms_senders(settings: Settings) -> dict[str, ChannelSender]:
    """Aliyun when chosen (all its settings needed), else the generic gateway when CAREDESK_SMS_GATEWAY_URL is
    set, else none (SMS conversations keep their replies unsent)."""
    from caredesk.channels.sms.aliyun import AliyunConfig
    from caredesk.channels.sms.senders import AliyunSmsSender, GatewaySmsSender
    from caredesk.clock import SystemClock
    from caredesk.notify.sms import SmsGateway

    segments = settings.sms_reply_max_segments
    if settings.sms_provider == "aliyun":
        config = AliyunConfig.from_settings(settings)
        return {"sms": AliyunSmsSender(config, SystemClock(), max_segments=segments)}
    if settings.sms_gateway_url:
        return {"sms": GatewaySmsSender(SmsGateway(settings.sms_gateway_url, settings.sms_gateway_token),
                                        max_segments=segments)}
    return {}
