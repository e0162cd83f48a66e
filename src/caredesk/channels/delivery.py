"""Outgoing messages to the customer's own channel: recorded in the writer's transaction (a delivery row and
its `DeliveryDue` event), then claimed, sent and recorded by a queued task (tasks/notice.py), so that a reply
is sent at least once and never lost with a dying process."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.events import DeliveryDue
from caredesk.channels.outbound import ChannelSender, Outgoing, Senders, SendRefused, Sent
from caredesk.clock import Clock
from caredesk.events import EventRecorder
from caredesk.settings import Settings
from caredesk.storage.orm import ChannelContact, Conversation, Message, MessageDelivery, WorkOrder
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice

__all__ = ["DeliveryDeps", "deliver_message", "queue_delivery"]

MAX_ATTEMPTS = 6  # the queue's own retries (5) and one relay; then the row says given_up


def queue_delivery(session: Session, events: EventRecorder, message: Message, conversation: Conversation, *,
                   kind: str, senders: Senders, now: datetime) -> MessageDelivery | None:
    """Record that `message` goes to the customer on the conversation's channel, in the caller's transaction.
    None when the channel has no sender (the message stays in the conversation, as for the API)."""
    if conversation.channel not in senders:
        return None
    session.flush()  # the message and its conversation go in first: no relationship orders the inserts
    delivery = MessageDelivery(message_id=message.id, conversation_id=conversation.id, channel=conversation.channel,
                               kind=kind, status="pending", attempts=0, created_at=now)
    session.add(delivery)
    session.flush()
    events.record(DeliveryDue(delivery.id))
    return delivery


class DeliveryDeps(Protocol):
    settings: Settings
    clock: Clock
    channels: Senders

    def uow(self) -> UnitOfWork: ...


def _outgoing(s: Session, delivery: MessageDelivery) -> Outgoing | str:
    """The message as the sender needs it, or why there is nothing to send."""
    message = s.get(Message, delivery.message_id)
    conversation = s.get(Conversation, delivery.conversation_id)
    if message is None or conversation is None:
        return "gone"
    contact = s.get(ChannelContact, conversation.contact_id) if conversation.contact_id else None
    if contact is not None and contact.opted_out_at is not None and delivery.kind != "reply":
        return "opted_out"  # a reply answers the customer's own message; notices and surveys are not sent
    order = s.scalar(select(WorkOrder).where(WorkOrder.conversation_id == conversation.id)
                     .order_by(WorkOrder.id.desc()).limit(1))
    return Outgoing(delivery.id, message.id, conversation.id, delivery.channel, delivery.kind, message.text,
                    message.language, contact.account if contact else None, contact.address if contact else None,
                    order.number if order else None)


def deliver_message(delivery_id: str, outbox_id: int | None = None) -> str:
    """Send one delivery: 'sent', 'refused', 'skipped', 'opted_out', 'gone', 'no-sender' or 'claimed'; a
    transient failure (OSError) is raised for the queue to retry, with the attempt and error recorded."""
    rt: DeliveryDeps = task_context()
    refused: list[str] = []
    receipt: list[Sent] = []

    def claim(s: Session, now: datetime) -> Claimed[tuple[Outgoing, ChannelSender]] | Skip:
        delivery = s.scalar(select(MessageDelivery).where(MessageDelivery.id == delivery_id).with_for_update()
                            .execution_options(populate_existing=True))
        if delivery is None or delivery.status != "pending":
            return Skip("skipped")
        if claim_is_live(delivery.claimed_until, now):
            return Skip("claimed", done=False)
        sender = rt.channels.get(delivery.channel)
        out = _outgoing(s, delivery) if sender is not None else "no-sender"
        if isinstance(out, str) or sender is None or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "given_up" if not isinstance(out, str) else "skipped"
            delivery.last_error = out if isinstance(out, str) else delivery.last_error
            return Skip(out if isinstance(out, str) else "given_up")
        delivery.claimed_until, delivery.attempts = now + rt.settings.notice_claim, delivery.attempts + 1
        return Claimed((out, sender))

    def send(item: tuple[Outgoing, ChannelSender]) -> None:
        out, sender = item
        try:
            receipt.append(sender.send(out))
        except SendRefused as exc:
            refused.append(str(exc)[:500])

    def record_sent(s: Session, now: datetime) -> str:
        delivery = s.get(MessageDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return "skipped"
        delivery.claimed_until = None
        if refused:
            delivery.status, delivery.last_error = "failed", refused[0]
            return "refused"
        delivery.status, delivery.sent_at = "sent", now
        delivery.external_id = receipt[0].external_id if receipt else None
        return "sent"

    def record_failed(s: Session, exc: OSError, now: datetime) -> None:
        delivery = s.get(MessageDelivery, delivery_id)
        if delivery is not None:
            delivery.claimed_until, delivery.last_error = None, f"{type(exc).__name__}: {exc}"[:500]

    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease, claim=claim,
                          send=send, record_sent=record_sent, record_failed=record_failed)
