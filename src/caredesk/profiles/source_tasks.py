"""Background fetching of the outside sources: the tasks the composition root registers, and the subscriber
that asks for a customer's sources when their message arrives. Intake never waits: the subscriber only queues
a task (at most once per conversation every 30 s in a process), and the task's HTTP calls run in a worker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from caredesk.profiles.source_fetch import SourceFetchDeps, refresh_customer_sources
from caredesk.profiles.source_status import Enqueuer, claim_requests
from caredesk.profiles.sources import SourcesFile
from caredesk.storage.orm import Conversation
from caredesk.tasks.context import task_context

__all__ = ["fetch_customer_sources", "fetch_sources_for_conversation", "sources_on_message"]

log = logging.getLogger(__name__)


def fetch_customer_sources(customer_id: str, names: list[str] | None = None) -> dict[str, str]:
    """Fetch the customer's due sources among `names` (None: every enabled one); idempotent."""
    rt: SourceFetchDeps = task_context()
    return refresh_customer_sources(rt, customer_id, names)


def fetch_sources_for_conversation(conversation_id: str) -> dict[str, str]:
    """A message arrived: fetch its customer's sources that are missing or expired."""
    rt: SourceFetchDeps = task_context()
    with rt.session_factory() as s:
        customer_id = s.scalar(select(Conversation.customer_id).where(Conversation.id == conversation_id))
    if customer_id is None:
        return {}
    return refresh_customer_sources(rt, customer_id)


def sources_on_message(queue: Callable[[], Enqueuer], sources: Callable[[], SourcesFile]
                       ) -> Callable[[Any], None]:
    """The MessageReceived subscriber: queue the conversation's fetch when any source is enabled. `queue` and
    `sources` are read when a message arrives (a test may swap them)."""

    def on_message(event: Any) -> None:
        if not sources().enabled:
            return
        conversation_id = str(event.conversation_id)
        if claim_requests(f"conversation:{conversation_id}", ["message"]):
            queue().enqueue(fetch_sources_for_conversation, conversation_id)

    return on_message
