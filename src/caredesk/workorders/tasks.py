"""Background work for work orders, on Huey: the SLA sweep and checks, and the e-mail they cause. Tasks
take ids, re-read state and are idempotent, so any number of workers on any number of machines may run
them (SlaMark's unique key and the sent-at columns make each notice go once)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from caredesk.runtime import current_runtime
from caredesk.storage.orm import (
    Conversation,
    Customer,
    Message,
    SatisfactionSurvey,
    SlaMark,
    Staff,
    WorkOrder,
)
from caredesk.workorders.service_levels import check_order

__all__ = ["check_sla", "send_reply_email", "send_sla_notice", "send_survey", "sla_sweep"]

log = logging.getLogger(__name__)
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


def _survey_link(base_url: str, token: str) -> str:
    return f"{base_url}/survey/{token}"


def send_survey(survey_id: str) -> str:
    """By e-mail when the customer has an address, else as a message in their conversation (chat)."""
    rt = current_runtime()
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
        text = (f"您的工单 {order.id} 已处理完毕。请为本次服务打分（1-5 分）：{link}" if zh else
                f"Your request {order.id} has been closed. Please rate our service (1-5): {link}")
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
    rt = current_runtime()
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
        msg["Subject"] = f"[{order.id}] " + ("关于您的来信" if order.language != "en" else "About your request")
        msg["Message-ID"] = f"<reply-{message.id}@{rt.mailer.sender_address.partition('@')[2] or 'caredesk'}>"
        msg.set_content(message.text + "\n")
        rt.mailer.send(msg)  # an SMTP error raises: the claim is rolled back and the queue retries
        s.commit()
    return "sent"
