"""Telling the team lead at once, inside the caller's transaction, that a high-tier customer's order carries
strong emotion (the rule is profiles/priority.py `strong_from_high_tier`; seed: "结合服务等级快速调动资源"): the
lead on duty by the rota (else a team lead, then the complaint manager: workorders/duty.py) gets an in-app
notice, the order's timeline says who was told, and the workbench refreshes live after the commit. The order
stays where routing put it: telling is not handing over (a high-risk order is handed over by lead_handoff.py).

A follow-up message that brings strong emotion to an order already open (`raise_on_strong_emotion`) lifts its
priority by one step, within the profile's cap (a `priority_raised` event carries the reasons the queues show),
and tells the lead, once per order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.profiles.priority import LIFT_REASONS, PROFILE_LIFT_MAX, high_tier, lift_count, strong_emotion
from caredesk.profiles.scores import scores_of
from caredesk.storage.orm import Notification, WorkOrder, WorkOrderEvent
from caredesk.storage.unit_of_work import events_of
from caredesk.workorders.events import WorkOrderChanged
from caredesk.workorders.lead_handoff import lead_on_duty

__all__ = ["NOTICE_KIND", "raise_on_strong_emotion", "tell_lead_of_strong_emotion"]

NOTICE_KIND = "vip_emotion"


def tell_lead_of_strong_emotion(session: Session, order: WorkOrder, *, now: datetime, reasons: tuple[str, ...] = ()
                                ) -> str | None:
    """The id of the staff member told; None when there is nobody to lead, or the order is already the lead's
    (handed over at once: they have their notice)."""
    from caredesk.workorders.actions import append_event

    found = lead_on_duty(session, order.department_id, now)
    if found is None:
        return None
    lead, choice = found
    if order.duty_lead_id == lead.id:
        return None
    note = f"Strong emotion from a high-tier customer: {lead.display_name} was told at once."
    append_event(session, order, "lead_told", actor="system", now=now, note=note,
                 data={"staff_id": lead.id, "staff": lead.display_name, "lead_by": choice.by,
                       "reasons": list(reasons), "note_code": "vip_emotion_lead_told",
                       "note_params": {"lead": lead.display_name}})
    session.add(Notification(staff_id=lead.id, kind=NOTICE_KIND,
                             title=f"高等级客户情绪激动 / Upset high-tier customer: {order.title}"[:300],
                             body=note, link=f"/workbench/work-orders/{order.id}", created_at=now))
    events_of(session, now=now).record(WorkOrderChanged(order.id))
    return lead.id


def raise_on_strong_emotion(session: Session, order: WorkOrder, *, tier: str | None, emotion: str,
                            emotion_confidence: float, complaint_level: int, now: datetime) -> bool:
    """A follow-up message of the order's customer: when it carries strong emotion from a high-tier customer
    and the lead has not been told about this order yet, lift the order one step (unless its profile lift is
    already at the cap) and tell the lead. True when the lead was told."""
    from caredesk.workorders.actions import append_event

    if not strong_emotion(emotion, emotion_confidence, complaint_level) or order.customer_id is None:
        return False
    if not high_tier(tier, scores_of(session, order.customer_id)):
        return False
    kinds: dict[str, dict[str, Any]] = {kind: data or {} for kind, data in session.execute(
        select(WorkOrderEvent.kind, WorkOrderEvent.data).where(
            WorkOrderEvent.work_order_id == order.id,
            WorkOrderEvent.kind.in_(("created", "priority_raised", "lead_told"))).order_by(WorkOrderEvent.seq))}
    # (the latest of each kind)
    if "lead_told" in kinds:
        return False
    latest = kinds.get("priority_raised") or kinds.get("created") or {}
    reasons = list(latest.get("priority_reasons") or [])
    vip = LIFT_REASONS["vip_emotion"]
    if vip not in reasons and lift_count(reasons) < PROFILE_LIFT_MAX:
        before = order.priority
        order.priority, order.updated_at = max(1, order.priority - 1), now
        reasons.append(vip)
        append_event(session, order, "priority_raised", actor="system", now=now,
                     data={"from": before, "to": order.priority, "priority_reasons": reasons})
    return tell_lead_of_strong_emotion(session, order, now=now, reasons=(vip,)) is not None
