"""Background work for service levels, on Huey: the sweep, the per-order check and the e-mail it causes.
Tasks take ids, re-read state and are idempotent, so any number of workers on any number of machines may run
them (SlaMark's unique key and the claimed, then recorded, sent-at column make each notice go once). Their
queue names stay `workorders.*` (bootstrap.py): tasks already queued in a running system must still find them."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.clock import Clock
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.settings import Settings
from caredesk.sla.events import SlaMarked, SlaNoticeDue
from caredesk.sla.policy import SlaConfig
from caredesk.sla.tracking import check_order
from caredesk.storage.orm import SlaMark, Staff, WorkOrder
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice, emailed_row_records
from caredesk.workorders.flows import Flow

__all__ = ["check_sla", "send_sla_notice", "sla_sweep"]

SWEEP_BATCH = 500


class SlaTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    session_factory: sessionmaker[Session]
    queue: TaskQueue
    sla: SlaConfig
    flows: dict[str, Flow]

    def uow(self) -> UnitOfWork: ...


def sla_sweep() -> int:
    """Every minute: queue a check for each order whose next SLA instant has come (once a minute in all,
    however many workers run the schedule)."""
    rt: SlaTaskDeps = task_context()
    if not rt.queue.first_this_minute("sla_sweep", rt.clock.now()):
        return 0
    with rt.session_factory() as s:
        ids = list(s.scalars(select(WorkOrder.id).where(WorkOrder.sla_next_check_at <= rt.clock.now(),
                                                        WorkOrder.status_category.in_(("open", "paused")))
                             .order_by(WorkOrder.sla_next_check_at).limit(SWEEP_BATCH)))
    for order_id in ids:
        rt.queue.enqueue(check_sla, order_id)
    return len(ids)


def check_sla(order_id: str) -> list[str]:
    rt: SlaTaskDeps = task_context()
    with rt.uow() as uow:
        marks = check_order(uow.session, order_id, rt.sla, rt.flows, rt.clock.now())
        for mark in marks:
            uow.record(SlaNoticeDue(mark.mark_id))
        if marks:
            uow.record(SlaMarked(order_id, tuple(m.kind for m in marks)))
        uow.commit()
    return [m.kind for m in marks]


def send_sla_notice(mark_id: str, outbox_id: int | None = None) -> str:
    """E-mail one SLA warning, breach or escalation to the person it names: claimed, sent, recorded
    (tasks/notice.py), so that two workers do not both send it and a failed commit does not lose the send.
    'sent', 'no-recipient', 'skipped' or 'claimed'; `outbox_id`: the event's row, done with the notice."""
    rt: SlaTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        mark = s.scalar(select(SlaMark).where(SlaMark.id == mark_id).with_for_update()
                        .execution_options(populate_existing=True))
        if mark is None or mark.emailed_at is not None:
            return Skip("skipped")
        if claim_is_live(mark.email_claimed_until, now):
            return Skip("claimed", done=False)
        staff = s.get(Staff, mark.staff_id) if mark.staff_id else None
        order = s.get(WorkOrder, mark.work_order_id)
        if staff is None or not staff.email or order is None:
            mark.emailed_at = now  # nobody to e-mail: the in-app notice is the record
            return Skip("no-recipient")
        mark.email_claimed_until, mark.email_attempts = now + rt.settings.notice_claim, mark.email_attempts + 1
        kind = mark.kind.split("-")[0]
        msg = EmailMessage()
        msg["To"] = staff.email
        tag_notice(msg, "sla_mark", mark.id)
        msg["Subject"] = f"[CareDesk] SLA {mark.kind}: {mark.target.split(':')[0]} of work order {order.number}"
        msg.set_content(
            f"{staff.display_name},\n\nWork order {order.number} ({order.title})\n"
            f"SLA policy {order.sla_policy}: {mark.target.split(':')[0]} {kind}.\n"
            f"Priority {order.priority}, status {order.status}, escalation level {order.escalation_level}.\n\n"
            f"{rt.settings.base_url}/work-orders/{order.id}\n")
        return Claimed(msg)

    record_sent, record_failed = emailed_row_records(SlaMark, mark_id)
    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=rt.mailer.send,
                          record_sent=record_sent, record_failed=record_failed)
