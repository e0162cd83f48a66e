"""Background work for work orders, on Huey: the satisfaction survey and the e-mailed replies (the SLA sweep
and notices are in sla/tasks.py). Tasks take ids, re-read state and are idempotent, so any number of workers
on any number of machines may run them (the sent-at columns make each e-mail go once)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from caredesk.clock import Clock
from caredesk.notify.email import SmtpSender
from caredesk.settings import Settings
from caredesk.storage.orm import (
    Conversation,
    Customer,
    Message,
    SatisfactionSurvey,
    WorkOrder,
)
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context

__all__ = ["send_reply_email", "send_survey"]

log = logging.getLogger(__name__)


class WorkOrderTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    session_factory: sessionmaker[Session]

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
