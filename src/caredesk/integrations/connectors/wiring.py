"""What the composition root (bootstrap.py, through channels/wiring.py) takes from this package: its tasks,
its event subscribers, its senders by channel and its HTTP routes."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

if TYPE_CHECKING:
    from caredesk.channels.outbound import ChannelSender
    from caredesk.integrations.connectors.client import Connectors
    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["build_connectors", "register_tasks", "router", "senders", "subscribe"]

log = logging.getLogger(__name__)
router = APIRouter()


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


def register_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one."""
    from caredesk.integrations.connectors.crm import enrich_customer, push_complaint

    # a CRM that is down fails the task (CrmUnavailable): tried again a few times, a minute apart
    queue.register("connectors.enrich_customer", enrich_customer, retries=3, retry_delay=60)
    queue.register("connectors.push_complaint", push_complaint, retries=5, retry_delay=60)


def subscribe(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again). The runtime's
    connectors are built here too (from its settings), so that bootstrap needs no line of its own for them."""
    from sqlalchemy import select

    from caredesk.intake.events import MessageReceived
    from caredesk.integrations.connectors.crm import enrich_customer, first_contact, push_complaint
    from caredesk.storage.orm import TriageResult

    rt.connectors = build_connectors(rt.settings)
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


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """channel -> sender, for the channels this package delivers to."""
    return {}
