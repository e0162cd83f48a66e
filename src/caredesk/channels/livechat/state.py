"""What the customer's open chat shows besides the bot's answers, read from the database: the messages
delivered to the chat after a given id (replayed on reconnect), and the state of the conversation's work order
(its number, waiting in a skill group's queue and in which place, the agent who took it, the survey link)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.storage.orm import (
    Conversation,
    Message,
    MessageDelivery,
    SatisfactionSurvey,
    SkillGroup,
    Staff,
    WorkOrder,
)

__all__ = ["CHAT", "ChatMessage", "ChatState", "chat_message", "chat_state", "messages_after", "own_conversation"]

CHAT = "chat"
REPLAY_LIMIT = 200  # one reconnect replays at most this many; the rest follow on the next


@dataclass(frozen=True)
class ChatMessage:
    id: str
    author: str  # agent | bot | system
    text: str  # as shown in the chat after a reload (the masked text)


@dataclass(frozen=True)
class ChatState:
    """`status`: none (no order yet), queued (waiting for an agent), assigned, resolved or closed."""

    case_number: str | None = None
    status: str = "none"
    skill_group_zh: str | None = None
    skill_group_en: str | None = None
    position: int | None = None  # 1 = next; None when the order is not in a queue
    agent: str | None = None
    survey_token: str | None = None  # unanswered survey of the closed order


def own_conversation(session: Session, conversation_id: str | None, customer_ref: str | None) -> str | None:
    """The chat conversation remembered in a browser session, when it is that session's customer's."""
    if not conversation_id or not customer_ref:
        return None
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.channel != CHAT or conversation.customer.ref != customer_ref:
        return None
    return conversation_id


def messages_after(session: Session, conversation_id: str, after: str | None, *, limit: int = REPLAY_LIMIT
                   ) -> list[ChatMessage]:
    """Messages sent to the chat by its sender (staff replies, notices), oldest first, with ids after `after`.
    A delivery still pending is included: the message is committed and the customer may see it now."""
    query = (select(Message).join(MessageDelivery, MessageDelivery.message_id == Message.id)
             .where(Message.conversation_id == conversation_id, MessageDelivery.channel == CHAT,
                    MessageDelivery.status.in_(("pending", "sent", "delivered")))
             .order_by(Message.id).limit(limit))
    if after:
        query = query.where(Message.id > after)
    return [ChatMessage(m.id, m.author, m.text_masked) for m in session.scalars(query).unique()]


def chat_message(session: Session, conversation_id: str, message_id: str) -> ChatMessage | None:
    """One message of this conversation (an event names it by id; another conversation's id gives None)."""
    m = session.get(Message, message_id)
    if m is None or m.conversation_id != conversation_id or m.direction != "out":
        return None
    return ChatMessage(m.id, m.author, m.text_masked)


def chat_state(session: Session, conversation_id: str) -> ChatState:
    order = session.scalar(select(WorkOrder).where(WorkOrder.conversation_id == conversation_id)
                           .order_by(WorkOrder.id.desc()).limit(1))
    if order is None:
        return ChatState()
    group = session.get(SkillGroup, order.skill_group_id) if order.skill_group_id else None
    base = ChatState(order.number, skill_group_zh=group.name_zh if group else None,
                     skill_group_en=group.name_en if group else None)
    if order.status_category in ("resolved", "closed"):
        token = session.scalar(select(SatisfactionSurvey.token).where(
            SatisfactionSurvey.work_order_id == order.id, SatisfactionSurvey.rating.is_(None)))
        return replace(base, status=order.status_category, survey_token=token)
    if order.assignee_id is not None or order.first_response_at is not None:  # taken, or answered from the queue
        agent = session.get(Staff, order.assignee_id) if order.assignee_id else None
        return replace(base, status="assigned", agent=agent.display_name if agent else None)
    return replace(base, status="queued", position=_queue_position(session, order))


def _queue_position(session: Session, order: WorkOrder) -> int | None:
    """Place among the orders of the same skill group waiting for an agent (ix_work_order_waiting)."""
    if order.queued_at is None or order.skill_group_id is None:
        return None
    ahead = session.scalar(select(func.count()).select_from(WorkOrder).where(
        WorkOrder.skill_group_id == order.skill_group_id, WorkOrder.assignee_id.is_(None),
        WorkOrder.queued_at.is_not(None), WorkOrder.status_category == "open",
        (WorkOrder.queued_at < order.queued_at)
        | ((WorkOrder.queued_at == order.queued_at) & (WorkOrder.id < order.id))))
    return int(ahead or 0) + 1
