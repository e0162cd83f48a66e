"""The notice itself, in the transaction of the work-order change that calls for it: a system message in the
order's conversation, its delivery on the conversation's channel (channels/delivery.py, kind "notice", held
until the morning in quiet hours) and a `customer_notified` event on the order's timeline, which is also what
the quiet window and once-only kinds are counted from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.quiet import held_until
from caredesk.channels.delivery import queue_delivery
from caredesk.channels.notices.config import NoticeConfig
from caredesk.channels.notices.rules import is_due, language_of, notice_for, render
from caredesk.channels.outbound import Senders
from caredesk.events import DomainEvent, EventRecorder
from caredesk.storage.orm import ChannelContact, Conversation, Customer, Message, WorkOrder, WorkOrderEvent
from caredesk.storage.unit_of_work import events_of
from caredesk.workorders.actions import append_event
from caredesk.workorders.timeline_hooks import TimelineHook

__all__ = ["NOTIFIED", "NoticeQueued", "notice_hook", "queue_notice"]

log = logging.getLogger(__name__)
NOTIFIED = "customer_notified"  # the timeline event of a notice given to the channel


@dataclass(frozen=True)
class NoticeQueued:
    kind: str
    message_id: str
    delivery_id: str
    held_until: datetime | None


class _Held:
    """Records the delivery's event for the morning when quiet hours hold the channel."""

    def __init__(self, events: EventRecorder, until: datetime | None) -> None:
        self._events, self._until = events, until

    def record(self, event: DomainEvent, *, available_at: datetime | None = None) -> None:
        self._events.record(event, available_at=self._until or available_at)


def queue_notice(session: Session, order: WorkOrder, event: WorkOrderEvent, *, config: NoticeConfig,
                 senders: Senders) -> NoticeQueued | None:
    """The notice `event` calls for, queued in the caller's transaction; None when it calls for none (an
    internal step, a kind off for the order's flow, within the quiet window, no channel sender, opted out, or
    the change came with the order itself, whose number the reply to the customer's message gave)."""
    if event.kind == NOTIFIED or not order.conversation_id:
        return None
    if order.created_at == event.created_at:
        return None  # in the transaction that opened the order: the reply to the customer's message said it
    kind = notice_for(config, flow=order.flow, event_kind=event.kind, data=event.data)
    if kind is None:
        return None
    conversation = session.get(Conversation, order.conversation_id)
    if conversation is None or not senders.reaches_later(conversation.channel):
        return None  # the API, an imported history (no sender); the live chat (a session: it shows the state)
    contact = session.get(ChannelContact, conversation.contact_id) if conversation.contact_id else None
    if contact is not None and contact.opted_out_at is not None:
        return None  # the delivery task checks again at send time (an opt-out may come in meanwhile)
    now = event.created_at
    earlier = session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id,
                                                           WorkOrderEvent.kind == NOTIFIED))
    if not is_due(kind, [e.created_at for e in earlier if (e.data or {}).get("notice") == kind.name],
                  window_s=config.window.total_seconds(), now=now):
        return None
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    language = language_of(order.language, customer.language if customer else None)
    text = render(kind, language=language, case_number=order.number)
    message = Message(conversation_id=conversation.id, direction="out", author="system", text=text,
                      text_masked=text, language=language, created_at=now)
    session.add(message)
    session.flush()
    until = held_until(conversation.channel, now, config.quiet_hours)
    delivery = queue_delivery(session, _Held(events_of(session, now=now), until), message, conversation,
                              kind="notice", senders=senders, now=now)
    assert delivery is not None  # the channel has a sender (checked above)
    append_event(session, order, NOTIFIED, actor="system", now=now,
                 data={"notice": kind.name, "trigger": event.kind, "channel": conversation.channel,
                       "language": language, "message_id": message.id, "delivery_id": delivery.id,
                       "held_until": until.isoformat() if until else None})
    log.info("work order %s: %s notice queued on %s (delivery %s)", order.id, kind.name, conversation.channel,
             delivery.id)
    return NoticeQueued(kind.name, message.id, delivery.id, until)


def notice_hook(config: NoticeConfig, senders: Senders) -> TimelineHook:
    def hook(session: Session, order: WorkOrder, event: WorkOrderEvent) -> None:
        queue_notice(session, order, event, config=config, senders=senders)

    return hook
