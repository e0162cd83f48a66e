"""Background work for work orders, on Huey: the satisfaction survey, the e-mailed replies, and the lead on
duty (the minute sweep that hands still-unassigned high-risk orders over, and the hand-off e-mail); the SLA
sweep and notices are in sla/tasks.py. Tasks take ids, re-read state and are idempotent, so any number of workers
on any number of machines may run them (each e-mail is claimed, sent, then recorded: tasks/notice.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from caredesk.channels.delivery import queue_delivery
from caredesk.channels.mail.thread import reply_thread, thread_headers
from caredesk.channels.outbound import Senders
from caredesk.clock import Clock
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.settings import Settings
from caredesk.storage.orm import (
    ChannelContact,
    Conversation,
    Customer,
    DutyHandoff,
    Message,
    SatisfactionSurvey,
    Staff,
    WorkOrder,
)
from caredesk.storage.unit_of_work import UnitOfWork, events_of
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice, emailed_row_records
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
    channels: Senders

    def uow(self) -> UnitOfWork: ...


def _reaches(s: Session, conversation: Conversation, senders: Senders) -> bool:
    """Whether the conversation's channel has a sender and the customer has not opted out there."""
    if conversation.channel not in senders:
        return False
    contact = s.get(ChannelContact, conversation.contact_id) if conversation.contact_id else None
    return contact is None or contact.opted_out_at is None


def _survey_link(base_url: str, token: str) -> str:
    return f"{base_url}/survey/{token}"


def send_survey(survey_id: str, outbox_id: int | None = None) -> str:
    """On the customer's own channel when it has a sender (a delivery of kind "survey", queued in the
    claim's transaction), else by e-mail when the customer has an address (claimed, sent, recorded:
    tasks/notice.py), else as a message in their conversation (chat). The channel, 'skipped' or 'claimed'."""
    rt: WorkOrderTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        survey = s.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.id == survey_id).with_for_update()
                          .execution_options(populate_existing=True))
        if survey is None or survey.sent_at is not None:
            return Skip("skipped")
        if claim_is_live(survey.claimed_until, now):
            return Skip("claimed", done=False)
        order = s.get(WorkOrder, survey.work_order_id)
        assert order is not None
        customer = s.get(Customer, order.customer_id) if order.customer_id else None
        link = _survey_link(rt.settings.base_url, survey.token)
        zh = order.language != "en"
        text = (f"您的工单 {order.number} 已处理完毕。请为本次服务打分（1-5 分）：{link}" if zh else
                f"Your request {order.number} has been closed. Please rate our service (1-5): {link}")
        conversation = s.get(Conversation, order.conversation_id) if order.conversation_id else None
        # a session channel (the live chat) takes the survey only when no e-mail reaches the customer later
        by_channel = conversation is not None and _reaches(s, conversation, rt.channels) and (
            rt.channels.reaches_later(conversation.channel) or customer is None or not customer.email)
        if conversation is not None and by_channel:
            # the customer's own channel: a message with the link, sent by the channel's sender (the chat
            # may show the survey inline: the delivery's kind says "survey")
            message = Message(conversation_id=conversation.id, direction="out", author="system", text=text,
                              text_masked=text, language=order.language, created_at=now)
            s.add(message)
            s.flush()
            queue_delivery(s, events_of(s, now=now), message, conversation, kind="survey", senders=rt.channels,
                           now=now)
            survey.channel, survey.sent_at = conversation.channel, now
            return Skip(conversation.channel)
        if customer is not None and customer.email:
            survey.claimed_until, survey.attempts = now + rt.settings.notice_claim, survey.attempts + 1
            msg = EmailMessage()
            msg["To"] = customer.email
            msg["Subject"] = "服务满意度调查" if zh else "How did we do?"
            msg.set_content(text + "\n")
            return Claimed(msg)
        if order.conversation_id and s.get(Conversation, order.conversation_id) is not None:
            s.add(Message(conversation_id=order.conversation_id, direction="out", author="system", text=text,
                          text_masked=text, language=order.language, created_at=now))
            survey.channel = "chat"
        else:
            survey.channel = "link"
        survey.sent_at = now  # in CareDesk itself: nothing leaves, so nothing to claim
        return Skip(survey.channel)

    def record_sent(s: Session, now: datetime) -> str:
        s.execute(update(SatisfactionSurvey).where(SatisfactionSurvey.id == survey_id)
                  .values(channel="email", sent_at=func.coalesce(SatisfactionSurvey.sent_at, now), claimed_until=None)
                  .execution_options(synchronize_session=False))
        return "email"

    def record_failed(s: Session, exc: OSError, now: datetime) -> None:
        s.execute(update(SatisfactionSurvey).where(SatisfactionSurvey.id == survey_id).values(claimed_until=None)
                  .execution_options(synchronize_session=False))

    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=rt.mailer.send,
                          record_sent=record_sent, record_failed=record_failed)


def send_reply_email(order_id: str, message_id: str, outbox_id: int | None = None) -> str:
    """E-mail a staff reply to the customer: claimed, sent, recorded (tasks/notice.py), so a retried or
    duplicated task finds it sent or claimed, and a failed commit after the send leaves the claim to lapse and
    the attempt counted. A stable Message-ID lets mail systems drop a copy sent twice anyway."""
    rt: WorkOrderTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        message = s.scalar(select(Message).where(Message.id == message_id).with_for_update()
                           .execution_options(populate_existing=True))
        if message is None or message.emailed_at is not None:
            return Skip("skipped")  # sent already, or no such message
        if claim_is_live(message.email_claimed_until, now):
            return Skip("claimed", done=False)
        order = s.get(WorkOrder, order_id)
        customer = s.get(Customer, order.customer_id) if order and order.customer_id else None
        if order is None or customer is None or not customer.email:
            return Skip("no-recipient")
        message.email_claimed_until, message.email_attempts = now + rt.settings.notice_claim, message.email_attempts + 1
        msg = EmailMessage()
        msg["To"] = customer.email
        msg["Subject"] = f"[{order.number}] " + ("关于您的来信" if order.language != "en" else "About your request")
        msg["Message-ID"] = f"<reply-{message.id}@{rt.mailer.sender_address.partition('@')[2] or 'caredesk'}>"
        thread = reply_thread(s, order.conversation_id) if order.conversation_id else None
        if thread is not None:  # the customer e-mailed: the reply goes under their last mail
            thread_headers(msg, thread, case_number=order.number, language=order.language)
        msg.set_content(message.text + "\n")
        return Claimed(msg)

    record_sent, record_failed = emailed_row_records(Message, message_id)
    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=rt.mailer.send,
                          record_sent=record_sent, record_failed=record_failed)


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


def send_duty_notice(handoff_id: str, outbox_id: int | None = None) -> str:
    """E-mail the lead on duty that a high-risk order is theirs, why, and where: claimed, sent, recorded
    (tasks/notice.py), so that two workers do not both send it (the `DutyHandoffDue` subscriber queues it; a
    relay may queue it again). 'sent', 'no-recipient', 'skipped' or 'claimed'."""
    rt: WorkOrderTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        handoff = s.scalar(select(DutyHandoff).where(DutyHandoff.id == handoff_id).with_for_update()
                           .execution_options(populate_existing=True))
        if handoff is None or handoff.emailed_at is not None:
            return Skip("skipped")
        if claim_is_live(handoff.email_claimed_until, now):
            return Skip("claimed", done=False)
        lead = s.get(Staff, handoff.staff_id)
        order = s.get(WorkOrder, handoff.work_order_id)
        if lead is None or not lead.email or order is None:
            handoff.emailed_at = now  # nobody to e-mail: the in-app notice is the record
            return Skip("no-recipient")
        handoff.email_claimed_until, handoff.email_attempts = now + rt.settings.notice_claim, handoff.email_attempts + 1
        msg = EmailMessage()
        msg["To"] = lead.email
        tag_notice(msg, "duty_handoff", handoff.id)
        msg["Subject"] = f"[CareDesk] 转值班主管 / Handed to you on duty: work order {order.number}"
        msg.set_content(
            f"{lead.display_name},\n\n工单 / Work order {order.number}: {order.title}\n"
            f"优先级 / Priority P{order.priority} · {order.status}\n\n{handoff.reason}\n\n"
            f"{rt.settings.base_url}/workbench/work-orders/{order.id}\n")
        return Claimed(msg)

    record_sent, record_failed = emailed_row_records(DutyHandoff, handoff_id)
    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=rt.mailer.send,
                          record_sent=record_sent, record_failed=record_failed)
