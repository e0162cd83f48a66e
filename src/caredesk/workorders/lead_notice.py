"""Telling the team lead at once, inside the caller's transaction, that a high-tier customer's order carries
strong emotion (the rule is profiles/priority.py `strong_from_high_tier`; seed: "结合服务等级快速调动资源"): the
lead on duty by the rota (else a team lead, then the complaint manager: workorders/duty.py) gets an in-app
notice, the order's timeline says who was told, and the workbench refreshes live after the commit. The order
stays where routing put it: telling is not handing over (a high-risk order is handed over by lead_handoff.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from caredesk.storage.orm import Notification, WorkOrder
from caredesk.storage.unit_of_work import events_of
from caredesk.workorders.events import WorkOrderChanged
from caredesk.workorders.lead_handoff import lead_on_duty

__all__ = ["NOTICE_KIND", "tell_lead_of_strong_emotion"]

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
