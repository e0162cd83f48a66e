"""Customer messages as roll-up facts, read back from storage: for intake (one message, in its transaction), the
rebuild, and the exact count of the partial hours at the ends of an overview's range. Every path goes through
analytics/facts.py message_facts, so they all count the same way."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics.facts import message_facts
from caredesk.analytics.rollups import MessageFacts, add_messages
from caredesk.storage.orm import Branch, Conversation, Customer, Message, TriageResult

__all__ = ["customer_facts_between", "facts_between", "record_message"]


def record_message(session: Session, triage: TriageResult, *, received_at: datetime, channel: str,
                   branch_id: str | None) -> None:
    """Count one just-stored customer message in the roll-up, in the caller's transaction."""
    branch = session.get(Branch, branch_id) if branch_id else None
    add_messages(session, [message_facts(triage, received_at=received_at, channel=channel,
                                         branch=branch.code if branch else None)])


@dataclass(frozen=True, slots=True)
class _Triage:
    """The triage columns message_facts reads (analytics/facts.py TriageFields), without a mapped object."""

    decision_kind: str
    problem_type: str
    content_type: str
    urgency: str
    answer_entry_id: str | None
    explanation: dict[str, Any]
    complaint_types: list[str]
    topic: str | None
    product: str | None


_COLUMNS = tuple(getattr(TriageResult, f.name) for f in fields(_Triage))


def facts_between(session: Session, start: datetime, end: datetime) -> list[MessageFacts]:
    """The facts of the customer messages received in [start, end) (message.created_at, indexed: 0019)."""
    return [facts for _, facts in customer_facts_between(session, start, end)]


def customer_facts_between(session: Session, start: datetime, end: datetime) -> list[tuple[str, MessageFacts]]:
    """As facts_between, each with the id of the customer who wrote the message."""
    rows = session.execute(
        select(*_COLUMNS, Message.created_at, Conversation.channel, Branch.code, Customer.id)
        .join(Message, Message.id == TriageResult.message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(Branch, Branch.id == Customer.branch_id)
        .where(Message.created_at >= start, Message.created_at < end, Message.direction == "in",
               Message.author == "customer"))
    n = len(_COLUMNS)
    return [(row[n + 3], message_facts(_Triage(*row[:n]), received_at=row[n], channel=row[n + 1],
                                       branch=row[n + 2]))
            for row in rows]
