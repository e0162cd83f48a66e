"""Handing a high-risk order to the lead on duty inside the caller's transaction: its risk read from the
conversation (complaint levels, open alarm, emergency), the lead chosen by the rota (workorders/duty.py), the
order assigned with an event that says why in words, an in-app notice, and the e-mail as a domain event
(`DutyHandoffDue`) dispatched after the commit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.storage.orm import (
    Alarm,
    DutyHandoff,
    DutyShift,
    EmergencyMeeting,
    Message,
    Notification,
    Staff,
    TriageResult,
    WorkOrder,
)
from caredesk.storage.unit_of_work import events_of
from caredesk.workorders.duty import (
    LeadCandidate,
    LeadChoice,
    RiskSignals,
    Shift,
    choose_lead,
    high_risk,
    on_duty,
    risk_words,
)
from caredesk.workorders.events import DutyHandoffDue, WorkOrderChanged

__all__ = ["hand_over_conversation", "hand_over_waiting", "hand_to_lead", "lead_on_duty", "load_rota",
           "risk_of"]

_LEAD_ROLES = ("team_lead", "complaint_manager")


def risk_of(session: Session, order: WorkOrder, *, level_now: int = 0) -> RiskSignals:
    """`level_now`: the complaint level of the message being handled, whose triage is not stored yet."""
    level, alarmed, meeting = 0, False, False
    if order.conversation_id:  # one round trip for the three signals
        conversation_id = order.conversation_id
        row = session.execute(select(
            select(func.max(TriageResult.complaint_level)).join(Message, Message.id == TriageResult.message_id)
            .where(Message.conversation_id == conversation_id).scalar_subquery(),
            exists().where(Alarm.conversation_id == conversation_id, Alarm.status != AlarmStatus.RESOLVED),
            exists().where(EmergencyMeeting.conversation_id == conversation_id))).one()
        level, alarmed, meeting = row[0] or 0, bool(row[1]), bool(row[2])
    return RiskSignals(max(level, level_now), alarmed, meeting or order.urgency == "urgent")


def load_rota(session: Session) -> list[Shift]:
    return [Shift(r.staff_id, frozenset(r.weekdays or []), _clock(r.starts), _clock(r.ends), ZoneInfo(r.timezone))
            for r in session.scalars(select(DutyShift).order_by(DutyShift.position, DutyShift.id))]


def _clock(value: str) -> time:
    return datetime.strptime(value, "%H:%M").time()


def lead_on_duty(session: Session, department_id: str | None, now: datetime) -> tuple[Staff, LeadChoice] | None:
    rota = on_duty(load_rota(session), now)
    people = list(session.scalars(select(Staff).where(Staff.active.is_(True)).where(
        Staff.role.in_(_LEAD_ROLES) | Staff.id.in_(rota or [""]))))
    choice = choose_lead(rota, [LeadCandidate(p.id, p.username, p.role, p.department_id, p.away) for p in people],
                         department_id)
    if choice is None:
        return None
    return next(p for p in people if p.id == choice.staff_id), choice


_BY = {"rota": "on duty by the rota", "team_lead": "nobody on the rota now: a team lead",
       "complaint_manager": "no team lead: the complaint manager"}


def hand_to_lead(session: Session, order: WorkOrder, reasons: tuple[str, ...], *, now: datetime, trigger: str,
                 actor: str = "system", detail: Mapping[str, object] | None = None) -> DutyHandoff | None:
    """Assign the order to the lead on duty; None (and nothing changed) when there is nobody to lead.
    `trigger`: at_once (nobody free when it was routed) or after_wait (still unassigned after the wait)."""
    from caredesk.workorders.actions import append_event

    found = lead_on_duty(session, order.department_id, now)
    if found is None:
        return None
    lead, choice = found
    waited = int((now - order.queued_at).total_seconds() // 60) if order.queued_at else 0
    why = risk_words(reasons)
    note = (f"Nobody with capacity is present and {why}: handed to {lead.display_name}, {_BY[choice.by]}"
            + (f", after waiting {waited} min." if trigger == "after_wait" else ", at once."))
    order.assignee_id, order.assigned_at, order.queued_at, order.duty_lead_id = lead.id, now, None, lead.id
    order.updated_at = now
    append_event(session, order, "handed_to_lead", actor=actor, now=now, note=note,
                 data=dict(detail or {}) | {"staff_id": lead.id, "staff": lead.display_name, "reasons": list(reasons),
                                        "lead_by": choice.by, "trigger": trigger, "waited_minutes": waited})
    handoff = DutyHandoff(work_order_id=order.id, staff_id=lead.id, trigger=trigger, reason=note[:500],
                          created_at=now, email_attempts=0)
    session.add(handoff)
    session.add(Notification(staff_id=lead.id, kind="duty_handoff",
                             title=f"转值班主管 / Handed to you on duty: {order.title}"[:300], body=note[:2000],
                             link=f"/workbench/work-orders/{order.id}", created_at=now))
    session.flush()
    events = events_of(session, now=now)  # the transaction's unit of work: dispatched right after its commit
    events.record(DutyHandoffDue(handoff.id))
    events.record(WorkOrderChanged(order.id))
    return handoff


def hand_over_waiting(session: Session, orders: list[WorkOrder], *, now: datetime, trigger: str) -> list[str]:
    """Of these unassigned active orders (locked by the caller), hand each high-risk one to the lead on duty;
    the ids handed over."""
    handed: list[str] = []
    for order in orders:
        if order.assignee_id is not None or order.status_category not in ("open", "paused"):
            continue
        reasons = high_risk(risk_of(session, order))
        if reasons and hand_to_lead(session, order, reasons, now=now, trigger=trigger) is not None:
            handed.append(order.id)
    return handed


def hand_over_conversation(session: Session, conversation_id: str, *, now: datetime) -> list[str]:
    """The conversation has just raised an alarm: its orders still waiting go to the lead on duty at once."""
    orders = list(session.scalars(select(WorkOrder).where(
        WorkOrder.conversation_id == conversation_id, WorkOrder.assignee_id.is_(None),
        WorkOrder.status_category.in_(("open", "paused"))).order_by(WorkOrder.id).with_for_update()))
    return hand_over_waiting(session, orders, now=now, trigger="at_once")
