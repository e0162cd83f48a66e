"""Telling one level of the alarm strategy: in-app notices at once (inside the transaction), and a recorded
delivery per e-mail, SMS and chat-ops recipient with its `NoticeDue` event, dispatched after the commit (or
when quiet hours end, where the strategy holds it). Also the alarm's append-only event log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from caredesk.alarms.delivery_status import DeliveryStatus, check_delivery_move
from caredesk.alarms.events import AlarmChanged, EscalationDue, NoticeDue
from caredesk.alarms.quiet import held_until
from caredesk.alarms.recipients import resolve_audience
from caredesk.alarms.strategy import AlarmStrategy
from caredesk.events import EventRecorder
from caredesk.storage.orm import Alarm, AlarmDelivery, AlarmEvent, Conversation, Notification

__all__ = ["alarm_changed", "do_notify_level", "log_alarm_event", "schedule_escalation"]


def log_alarm_event(session: Session, alarm: Alarm, kind: str, *, actor: str, now: datetime,
                    data: dict[str, Any] | None = None, note: str = "") -> AlarmEvent:
    event = AlarmEvent(alarm_id=alarm.id, kind=kind, actor=actor, data=data or {}, note=note[:2000],
                       created_at=now)
    session.add(event)
    return event


def alarm_changed(alarm: Alarm, change: str) -> AlarmChanged:
    """Ids and labels only: the live stream never carries customer text."""
    return AlarmChanged(alarm.id, alarm.conversation_id, change)


def schedule_escalation(alarm: Alarm, strategy: AlarmStrategy, events: EventRecorder, *, now: datetime) -> None:
    """When the current level has an acknowledgement timeout and a next level exists, check back then."""
    level = strategy.level(alarm.escalation_level)
    if level is None or level.acknowledge_within_minutes is None or strategy.level(alarm.escalation_level + 1) is None:
        alarm.escalate_at = None
        return
    alarm.escalate_at = now + timedelta(minutes=level.acknowledge_within_minutes)
    events.record(EscalationDue(alarm.id, alarm.escalation_level), available_at=alarm.escalate_at)


def _evidence_words(alarm: Alarm) -> str:
    """What was counted, in words: the escalating messages and the customer's earlier contacts."""
    contacts = len(alarm.details.get("earlier_contacts", []))
    words = f"{len(alarm.message_ids or [])} escalating messages (highest level {alarm.level})"
    return words + (f" and {contacts} earlier contacts of the customer" if contacts else "")


def do_notify_level(session: Session, alarm: Alarm, conversation: Conversation, strategy: AlarmStrategy,
                    index: int, events: EventRecorder, *, now: datetime, link: str) -> list[AlarmDelivery]:
    level = strategy.level(index)
    if level is None:
        return []
    made: dict[tuple[str, str], AlarmDelivery] = {}

    def add(channel: str, recipient: str, address: str) -> AlarmDelivery | None:
        if (channel, recipient) in made:  # someone in two audiences is told once per channel
            return None
        delivery = AlarmDelivery(alarm_id=alarm.id, level=index, channel=channel, recipient=recipient,
                                 address=address, status=DeliveryStatus.PENDING, attempts=0, created_at=now)
        made[(channel, recipient)] = delivery
        session.add(delivery)
        return delivery

    for target in level.targets:
        if target.audience is None:
            for name in target.webhooks:
                add("webhook", name, strategy.webhooks[name].url)
            continue
        for person in resolve_audience(session, strategy.audiences[target.audience], conversation):
            for channel in target.channels:
                address = {"in_app": person.id, "email": person.email, "sms": person.phone or ""}[channel]
                delivery = add(channel, person.id, address)
                if delivery is None:
                    continue
                if channel == "in_app":
                    session.add(Notification(staff_id=person.id, kind="alarm",
                                             title=f"Complaint escalating: {', '.join(alarm.details.get('types', []))}",
                                             body=_evidence_words(alarm)
                                                  + (f" (escalated, level {index})" if index else ""),
                                             link=link, created_at=now))
                    delivery.status = check_delivery_move(delivery.status, DeliveryStatus.SENT)
                    delivery.attempts, delivery.sent_at = 1, now
                elif channel == "sms" and (not person.phone or not strategy.sms_available):
                    delivery.status = check_delivery_move(delivery.status, DeliveryStatus.SKIPPED)
                    delivery.last_error = "no phone number" if not person.phone else "no SMS gateway configured"
    session.flush()
    for delivery in made.values():
        if delivery.status != DeliveryStatus.PENDING:
            continue
        until = held_until(delivery.channel, now, strategy.quiet_hours)
        if until is not None:
            delivery.status, delivery.not_before = check_delivery_move(delivery.status, DeliveryStatus.HELD), until
        events.record(NoticeDue(delivery.id), available_at=until)
    counts: dict[str, int] = {}
    for delivery in made.values():
        counts[f"{delivery.channel}:{delivery.status}"] = counts.get(f"{delivery.channel}:{delivery.status}", 0) + 1
    log_alarm_event(session, alarm, "notified", actor="system", now=now,
                    data={"level": index, "level_name": level.name, "deliveries": counts})
    events.record(alarm_changed(alarm, "raised" if index == 0 else "escalated"))
    return list(made.values())
