"""Read-only queries behind the workbench pages. The queue takes a fixed number of queries, whatever its
length. Messages are listed by time, then direction: a customer's message and the bot's reply share one
timestamp and ids within one millisecond are random, so "in" before "out" keeps the reply after the
question."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.accounts.access import Viewer, conversation_filter, conversation_for
from caredesk.alarms.actions import list_alarms
from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.intake.clarify import ClarifyOption, options_of
from caredesk.storage.orm import (
    Alarm,
    Conversation,
    Department,
    EmergencyMeeting,
    KnowledgeEntry,
    Message,
    Staff,
    TriageResult,
    WorkOrder,
)

__all__ = ["ConversationView", "QueueRow", "chat_history", "conversation_view", "departments_by_id",
           "pending_options", "queue", "staff_by_id"]

QUEUE_LENGTH = 50


@dataclass(frozen=True)
class QueueRow:
    conversation_id: str
    customer_ref: str
    channel: str
    last_message_at: datetime
    last_text: str
    last_author: str
    triage: TriageResult | None  # of the last inbound message
    alarm: bool
    work_order_id: str | None  # the conversation's latest
    meeting_id: str | None


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    messages: list[Message]
    alarms: list[Alarm]
    entries: dict[str, KnowledgeEntry] = field(default_factory=dict)


def _ranked(model: Any, ids: list[str], *where: Any) -> Any:
    """Rows of `model` for the conversations, ranked newest first within each conversation."""
    rank = func.row_number().over(partition_by=model.conversation_id,
                                  order_by=(model.created_at.desc(), model.id.desc())).label("rank")
    return (select(model.id.label("row_id"), model.conversation_id.label("conversation_id"), rank)
            .where(model.conversation_id.in_(ids), *where).subquery())


def _latest_messages(session: Session, ids: list[str], *where: Any) -> dict[str, Message]:
    """The newest message of each conversation (its triage comes with it in one more query)."""
    ranked = _ranked(Message, ids, *where)
    rows = session.scalars(select(Message).join(ranked, ranked.c.row_id == Message.id)
                           .where(ranked.c.rank == 1))
    return {m.conversation_id: m for m in rows}


def _latest_ids(session: Session, model: Any, ids: list[str]) -> dict[str, str]:
    ranked = _ranked(model, ids)
    rows = session.execute(select(ranked.c.conversation_id, ranked.c.row_id).where(ranked.c.rank == 1))
    return {conversation_id: row_id for conversation_id, row_id in rows}


def queue(session: Session, viewer: Viewer, limit: int = QUEUE_LENGTH) -> list[QueueRow]:
    """The most recently active conversations the viewer may see, newest first."""
    newest_first = (Conversation.last_message_at.desc(), Conversation.id.desc())
    conversations = list(session.scalars(select(Conversation).where(conversation_filter(session, viewer))
                                         .order_by(*newest_first).limit(limit)))
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    last = _latest_messages(session, ids)
    last_in = _latest_messages(session, ids, Message.direction == "in")
    orders = _latest_ids(session, WorkOrder, ids)
    meetings = _latest_ids(session, EmergencyMeeting, ids)
    alarmed = set(session.scalars(select(Alarm.conversation_id).where(Alarm.conversation_id.in_(ids),
                                                                      Alarm.status == AlarmStatus.OPEN)))
    rows = []
    for c in conversations:
        message, inbound = last.get(c.id), last_in.get(c.id)
        rows.append(QueueRow(
            conversation_id=c.id, customer_ref=c.customer.ref, channel=c.channel,
            last_message_at=c.last_message_at, last_text=message.text_masked if message else "",
            last_author=message.author if message else "", triage=inbound.triage if inbound else None,
            alarm=c.id in alarmed, work_order_id=orders.get(c.id), meeting_id=meetings.get(c.id)))
    return rows


def conversation_view(session: Session, viewer: Viewer, conversation_id: str) -> ConversationView:
    conversation = conversation_for(session, viewer, conversation_id)
    messages = list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                    .order_by(Message.created_at, Message.direction, Message.id)))
    entry_ids = {m.triage.answer_entry_id for m in messages if m.triage and m.triage.answer_entry_id}
    entries: dict[str, KnowledgeEntry] = {}
    if entry_ids:
        rows = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.id.in_(entry_ids)))
        entries = {e.id: e for e in rows}
    return ConversationView(conversation, messages, list_alarms(session, conversation_id), entries)


def staff_by_id(session: Session, ids: list[str | None]) -> dict[str, Staff]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(wanted)))}


def departments_by_id(session: Session, ids: list[str | None]) -> dict[str, Department]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def chat_history(session: Session, conversation_id: str | None, customer_ref: str | None) -> list[Message]:
    """The customer's own conversation (kept in their browser session), for the chat page after a reload."""
    if not conversation_id or not customer_ref:
        return []
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.customer.ref != customer_ref:
        return []
    return list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                .order_by(Message.created_at, Message.direction, Message.id)))


def pending_options(session: Session, conversation_id: str | None, history: list[Message]
                    ) -> tuple[ClarifyOption, ...]:
    """The options of the clarifying question this chat is waiting on (offered as buttons again after a
    reload)."""
    if not conversation_id or not history:
        return ()
    conversation = session.get(Conversation, conversation_id)
    pending = conversation.pending_clarification if conversation is not None else None
    # the state is dropped by the customer's next message, so a question still pending is the last one asked
    if not pending or pending.get("message_id") not in {m.id for m in history if m.direction == "out"}:
        return ()
    return options_of(pending)
