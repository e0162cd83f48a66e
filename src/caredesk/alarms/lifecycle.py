"""An alarm's lifecycle: acknowledge, assign, resolve. Each is one transaction that locks the alarm, checks
the move is allowed, logs an alarm event and an audit entry, and tells the workbench after the commit.
Acknowledging (or assigning) stops the escalation: the escalation task re-checks the status."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.alarm_status import AlarmStatus, check_alarm_move
from caredesk.alarms.dispatch import alarm_changed, log_alarm_event
from caredesk.clock import Clock
from caredesk.compliance.audit import record_audit
from caredesk.errors import Conflict, InvalidInput
from caredesk.events import DomainEvent, EventRecorder
from caredesk.storage.orm import Alarm, AlarmDelivery, AlarmEvent, Notification, Staff
from caredesk.storage.rows import row_by_id

__all__ = ["HANDLER_ROLES", "AlarmActor", "check_open", "do_acknowledge_alarm", "do_assign_alarm",
           "do_resolve_alarm", "get_alarm", "list_alarm_deliveries", "list_alarm_events", "run_alarm_action"]

HANDLER_ROLES = frozenset({"agent", "team_lead", "complaint_manager", "admin"})  # who may be assigned an alarm


@dataclass(frozen=True)
class AlarmActor:
    label: str  # as written in the logs: "staff:<id>" or "api_key:<id>"
    staff_id: str | None = None


def get_alarm(session: Session, alarm_id: str, *, lock: bool = False) -> Alarm:
    return row_by_id(session, Alarm, alarm_id, what="alarm", lock=lock)


def list_alarm_events(session: Session, alarm_id: str) -> list[AlarmEvent]:
    return list(session.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id)
                                .order_by(AlarmEvent.created_at, AlarmEvent.id)))


def list_alarm_deliveries(session: Session, alarm_id: str) -> list[AlarmDelivery]:
    return list(session.scalars(select(AlarmDelivery).where(AlarmDelivery.alarm_id == alarm_id)
                                .order_by(AlarmDelivery.level, AlarmDelivery.channel, AlarmDelivery.recipient)))


def check_open(alarm: Alarm, action: str) -> None:
    if alarm.status == AlarmStatus.RESOLVED:
        raise Conflict(f"the alarm is resolved; it cannot be {action}", status=alarm.status)


def _record(session: Session, alarm: Alarm, kind: str, actor: AlarmActor, now: datetime, events: EventRecorder,
            data: dict[str, object] | None = None, note: str = "") -> None:
    log_alarm_event(session, alarm, kind, actor=actor.label, now=now, data=dict(data or {}), note=note)
    record_audit(session, actor=actor.label, action=f"alarm.{kind}", object_type="alarm", object_id=alarm.id,
                 data={"conversation_id": alarm.conversation_id, **(data or {})}, now=now)
    events.record(alarm_changed(alarm, kind))


def _acknowledge(alarm: Alarm, actor: AlarmActor, now: datetime) -> None:
    alarm.status = check_alarm_move(alarm.status, AlarmStatus.ACKNOWLEDGED)
    alarm.acknowledged_at, alarm.acknowledged_by = now, actor.staff_id
    alarm.escalate_at = None


def do_acknowledge_alarm(session: Session, alarm_id: str, actor: AlarmActor, events: EventRecorder, *,
                         now: datetime, note: str = "") -> Alarm:
    alarm = get_alarm(session, alarm_id, lock=True)
    check_open(alarm, "acknowledged")
    if alarm.status == AlarmStatus.ACKNOWLEDGED:
        raise Conflict("the alarm is already acknowledged", status=alarm.status)
    _acknowledge(alarm, actor, now)
    _record(session, alarm, "acknowledged", actor, now, events, {"escalation_level": alarm.escalation_level}, note)
    return alarm


def do_assign_alarm(session: Session, alarm_id: str, assignee_id: str, actor: AlarmActor, events: EventRecorder,
                    *, now: datetime, note: str = "") -> Alarm:
    """Assigning someone counts as acknowledging: a person now owns it, so the escalation stops."""
    alarm = get_alarm(session, alarm_id, lock=True)
    check_open(alarm, "assigned")
    assignee = session.get(Staff, assignee_id)
    if assignee is None or not assignee.active or assignee.role not in HANDLER_ROLES:
        raise InvalidInput("the assignee must be an active agent, team lead, complaint manager or admin",
                           field="staff_id")
    if alarm.status == AlarmStatus.OPEN:
        _acknowledge(alarm, actor, now)
    alarm.assigned_to, alarm.assigned_at = assignee.id, now
    session.add(Notification(staff_id=assignee.id, kind="alarm_assigned", title="An alarm was assigned to you",
                             body=note[:2000], link=f"/workbench/conversations/{alarm.conversation_id}",
                             created_at=now))
    _record(session, alarm, "assigned", actor, now, events, {"assignee_id": assignee.id}, note)
    return alarm


def do_resolve_alarm(session: Session, alarm_id: str, actor: AlarmActor, events: EventRecorder, *,
                     now: datetime, note: str = "") -> Alarm:
    alarm = get_alarm(session, alarm_id, lock=True)
    check_open(alarm, "resolved again")
    if not note.strip():  # the record of why a customer's escalation was closed is what a review reads
        raise InvalidInput("resolving an alarm needs a reason", field="note", problem="reason_required")
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, actor.staff_id
    alarm.status = check_alarm_move(alarm.status, AlarmStatus.RESOLVED)
    alarm.resolved_at, alarm.resolved_by, alarm.escalate_at = now, actor.staff_id, None
    _record(session, alarm, "resolved", actor, now, events, {}, note)
    return alarm


class _Uow(Protocol):
    session: Session

    def record(self, event: DomainEvent, *, available_at: datetime | None = None) -> None: ...
    def commit(self) -> None: ...


def run_alarm_action(new_uow: Callable[[], AbstractContextManager[_Uow]], action: Callable[..., Alarm], *args: Any,
                     clock: Clock, **kwargs: Any) -> Alarm:
    """Run one lifecycle action in its own transaction; the events it records leave after the commit."""
    with new_uow() as uow:
        alarm = action(uow.session, *args, uow, now=clock.now(), **kwargs)
        uow.commit()
    return alarm
