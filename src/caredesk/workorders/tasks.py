"""Background work for work orders, on Huey: the satisfaction survey, the e-mailed replies, and the lead on
duty (the minute sweep that hands still-unassigned high-risk orders over, and the hand-off e-mail); the SLA
sweep and notices are in sla/tasks.py. Tasks take ids, re-read state and are idempotent, so any number of workers
on any number of machines may run them (the sent-at columns make each e-mail go once)."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from caredesk.clock import Clock
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.settings import Settings
from caredesk.storage.orm import (
    Conversation,
    Customer,
    DutyHandoff,
    Message,
    SatisfactionSurvey,
    Staff,
    WorkOrder,
)
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context
from caredesk.workorders.lead_handoff import hand_over_waiting

__all__ = ["hand_over_to_duty_lead", "send_duty_notice", "send_reply_email", "send_survey"]

HAND_OVER_BATCH = 200

log = logging.getLogger(__name__)


class WorkOrderTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    session_factory: sessionmaker[Session]
    queue: TaskQueue

    def uow(self) -> UnitOfWork: ...


def _survey_link(base_url: str, token: str) -> str:
    return f"{base_url}/survey/{token}"


def send_survey(survey_id: str) -> str:
    """By e-mail when the customer has an address, else as a message in their conversation (chat)."""
    rt: WorkOrderTaskDeps = task_context()
    with rt.uow() as uow:
        s = uow.session
        survey = s.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.id == survey_id).with_for_update())
        if survey is None or survey.sent_at is not None:
            return "skipped"
        order = s.get(WorkOrder, survey.work_order_id)
        assert order is not None
        customer = s.get(Customer, order.customer_id) if order.customer_id else None
        link = _survey_link(rt.settings.base_url, survey.token)
        zh = order.language != "en"
        text = (f"您的工单 {order.number} 已处理完毕。请为本次服务打分（1-5 分）：{link}" if zh else
                f"Your request {order.number} has been closed. Please rate our service (1-5): {link}")
        now = rt.clock.now()
        if customer is not None and customer.email:
            msg = EmailMessage()
            msg["To"] = customer.email
            msg["Subject"] = "服务满意度调查" if zh else "How did we do?"
            msg.set_content(text + "\n")
            rt.mailer.send(msg)
            survey.channel = "email"
        elif order.conversation_id and s.get(Conversation, order.conversation_id) is not None:
            s.add(Message(conversation_id=order.conversation_id, direction="out", author="system", text=text,
                          text_masked=text, language=order.language, created_at=now))
            survey.channel = "chat"
        else:
            survey.channel = "link"
        survey.sent_at = now
        uow.commit()
    return survey.channel


def send_reply_email(order_id: str, message_id: str) -> str:
    """E-mail a staff reply to the customer once: the message row is claimed (locked) before the send and
    marked in the same transaction, so a retried or duplicated task finds it sent. An SMTP error rolls the
    claim back and the queue retries. A stable Message-ID lets mail systems drop a copy sent twice anyway
    (the send succeeded but the commit did not)."""
    rt: WorkOrderTaskDeps = task_context()
    with rt.session_factory() as s:
        claimed = cast(CursorResult[Any], s.execute(
            update(Message).where(Message.id == message_id, Message.emailed_at.is_(None))
            .values(emailed_at=rt.clock.now()).execution_options(synchronize_session=False)))
        if claimed.rowcount == 0:
            return "skipped"  # sent already, or no such message
        order = s.get(WorkOrder, order_id)
        message = s.get(Message, message_id)
        customer = s.get(Customer, order.customer_id) if order and order.customer_id else None
        if order is None or message is None or customer is None or not customer.email:
            s.rollback()
            return "no-recipient"
        msg = EmailMessage()
        msg["To"] = customer.email
        msg["Subject"] = f"[{order.number}] " + ("关于您的来信" if order.language != "en" else "About your request")
        msg["Message-ID"] = f"<reply-{message.id}@{rt.mailer.sender_address.partition('@')[2] or 'caredesk'}>"
        msg.set_content(message.text + "\n")
        rt.mailer.send(msg)  # an SMTP error raises: the claim is rolled back and the queue retries
        s.commit()
    return "sent"


def hand_over_to_duty_lead() -> list[str]:
    """Every minute (once, however many workers): an order still unassigned after
    `CAREDESK_DUTY_HANDOFF_AFTER_MINUTES` that is high-risk now (nobody could lead when it came, or it became
    high-risk while it waited) goes to the lead on duty. The ids handed over."""
    rt: WorkOrderTaskDeps = task_context()
    now = rt.clock.now()
    if not rt.queue.first_this_minute("duty_handoff_sweep", now):
        return []
    cutoff = now - timedelta(minutes=rt.settings.duty_handoff_after_minutes)
    with rt.uow() as uow:
        orders = list(uow.session.scalars(select(WorkOrder).where(
            WorkOrder.assignee_id.is_(None), WorkOrder.queued_at <= cutoff,
            WorkOrder.status_category.in_(("open", "paused"))).order_by(WorkOrder.priority, WorkOrder.queued_at)
            .limit(HAND_OVER_BATCH).with_for_update()))
        handed = hand_over_waiting(uow.session, orders, now=now, trigger="after_wait")  # records its events
        uow.commit()
    return handed


def send_duty_notice(handoff_id: str) -> str:
    """E-mail the lead on duty that a high-risk order is theirs, why, and where; claimed first so that two
    workers do not both send it (the `DutyHandoffDue` subscriber queues it; a relay may queue it again)."""
    rt: WorkOrderTaskDeps = task_context()
    with rt.session_factory() as s:
        claimed = cast(CursorResult[Any], s.execute(
            update(DutyHandoff).where(DutyHandoff.id == handoff_id, DutyHandoff.emailed_at.is_(None))
            .values(email_attempts=DutyHandoff.email_attempts + 1).execution_options(synchronize_session=False)))
        if claimed.rowcount == 0:
            return "skipped"
        handoff = s.get(DutyHandoff, handoff_id)
        assert handoff is not None  # just claimed
        lead = s.get(Staff, handoff.staff_id)
        order = s.get(WorkOrder, handoff.work_order_id)
        if lead is None or not lead.email or order is None:
            handoff.emailed_at = rt.clock.now()  # nobody to e-mail: the in-app notice is the record
            s.commit()
            return "no-recipient"
        msg = EmailMessage()
        msg["To"] = lead.email
        tag_notice(msg, "duty_handoff", handoff.id)
        msg["Subject"] = f"[CareDesk] 转值班主管 / Handed to you on duty: work order {order.number}"
        msg.set_content(
            f"{lead.display_name},\n\n工单 / Work order {order.number}: {order.title}\n"
            f"优先级 / Priority P{order.priority} · {order.status}\n\n{handoff.reason}\n\n"
            f"{rt.settings.base_url}/workbench/work-orders/{order.id}\n")
        rt.mailer.send(msg)  # an SMTP error raises: the claim is rolled back and the queue retries
        handoff.emailed_at = rt.clock.now()
        s.commit()
    return "sent"
