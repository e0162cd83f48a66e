"""Background work for service levels, on Huey: the sweep, the per-order check and the e-mail it causes.
Tasks take ids, re-read state and are idempotent, so any number of workers on any number of machines may run
them (SlaMark's unique key and the sent-at column make each notice go once). Their queue names stay
`workorders.*` (bootstrap.py): tasks already queued in a running system must still find them."""

from __future__ import annotations

from email.message import EmailMessage
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from caredesk.runtime import current_runtime
from caredesk.sla.tracking import check_order
from caredesk.storage.orm import SlaMark, Staff, WorkOrder

__all__ = ["check_sla", "send_sla_notice", "sla_sweep"]

SWEEP_BATCH = 500


def sla_sweep() -> int:
    """Every minute: queue a check for each order whose next SLA instant has come (once a minute in all,
    however many workers run the schedule)."""
    rt = current_runtime()
    if not rt.queue.first_this_minute("sla_sweep", rt.clock.now()):
        return 0
    with rt.session_factory() as s:
        ids = list(s.scalars(select(WorkOrder.id).where(WorkOrder.sla_next_check_at <= rt.clock.now(),
                                                        WorkOrder.status_category.in_(("open", "paused")))
                             .order_by(WorkOrder.sla_next_check_at).limit(SWEEP_BATCH)))
    for order_id in ids:
        rt.queue.enqueue("workorders.check_sla", order_id)
    return len(ids)


def check_sla(order_id: str) -> list[str]:
    rt = current_runtime()
    with rt.uow() as uow:
        marks = check_order(uow.session, order_id, rt.sla, rt.flows, rt.clock.now())
        for mark in marks:
            uow.on_commit(partial(rt.queue.enqueue, "workorders.send_sla_notice", mark.mark_id))
        if marks:
            uow.on_commit(lambda: rt.live.publish({"type": "sla", "work_order_id": order_id,
                                                   "kinds": [m.kind for m in marks]}))
        uow.commit()
    return [m.kind for m in marks]


def send_sla_notice(mark_id: str) -> str:
    """E-mail one SLA warning, breach or escalation to the person it names; claimed first so that two
    workers do not both send it."""
    rt = current_runtime()
    with rt.session_factory() as s:
        claimed = cast(CursorResult[Any], s.execute(
            update(SlaMark).where(SlaMark.id == mark_id, SlaMark.emailed_at.is_(None))
            .values(email_attempts=SlaMark.email_attempts + 1).execution_options(synchronize_session=False)))
        if claimed.rowcount == 0:
            return "skipped"
        mark = s.get(SlaMark, mark_id)
        assert mark is not None
        staff = s.get(Staff, mark.staff_id) if mark.staff_id else None
        order = s.get(WorkOrder, mark.work_order_id)
        if staff is None or not staff.email or order is None:
            mark.emailed_at = rt.clock.now()  # nobody to e-mail: the in-app notice is the record
            s.commit()
            return "no-recipient"
        kind = mark.kind.split("-")[0]
        msg = EmailMessage()
        msg["To"] = staff.email
        msg["Subject"] = f"[CareDesk] SLA {mark.kind}: {mark.target.split(':')[0]} of work order {order.id}"
        msg.set_content(
            f"{staff.display_name},\n\nWork order {order.id} ({order.title})\n"
            f"SLA policy {order.sla_policy}: {mark.target.split(':')[0]} {kind}.\n"
            f"Priority {order.priority}, status {order.status}, escalation level {order.escalation_level}.\n\n"
            f"{rt.settings.base_url}/work-orders/{order.id}\n")
        rt.mailer.send(msg)  # an SMTP error raises: the claim is rolled back and the queue retries
        mark.emailed_at = rt.clock.now()
        s.commit()
    return "sent"
