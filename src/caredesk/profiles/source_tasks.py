"""Background fetching of the outside sources: the task the composition root registers, and the subscriber that
asks for a customer's sources when their message arrives. Intake never waits for a source: after its commit the
subscriber reads which of the customer's sources are missing or expired (one small query) and only then queues
their fetch; the HTTP calls run in a worker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from caredesk.profiles.source_fetch import SourceFetchDeps, refresh_customer_sources
from caredesk.profiles.source_status import Enqueuer, claim_requests, due_sources
from caredesk.storage.orm import Conversation
from caredesk.tasks.context import task_context

__all__ = ["fetch_customer_sources", "sources_on_message"]

log = logging.getLogger(__name__)


def fetch_customer_sources(customer_id: str, names: list[str] | None = None) -> dict[str, str]:
    """Fetch the customer's due sources among `names` (None: every enabled one); idempotent."""
    rt: SourceFetchDeps = task_context()
    return refresh_customer_sources(rt, customer_id, names)


def sources_on_message(queue: Callable[[], Enqueuer], deps: SourceFetchDeps) -> Callable[[Any], None]:
    """The MessageReceived subscriber: queue the fetch of the conversation's customer's due sources. Nothing is
    read when no source is enabled; a conversation is looked at once every 30 s at most in a process, and a
    source asked for is not queued again within that time (profiles/source_status.py). `queue` is read when a
    message arrives (a test may swap it)."""

    def on_message(event: Any) -> None:
        config = deps.customer_sources
        if not config.enabled or not claim_requests(f"conversation:{event.conversation_id}", ["message"]):
            return
        with deps.session_factory() as s:
            customer_id = s.scalar(select(Conversation.customer_id).where(Conversation.id == event.conversation_id))
            due = due_sources(s, customer_id, config, now=deps.clock.now()) if customer_id else []
        names = claim_requests(customer_id, due) if customer_id else []
        if customer_id and names:
            queue().enqueue(fetch_customer_sources, customer_id, names)

    return on_message
