"""A staff reply to a customer who wrote by e-mail goes out once: a retried or duplicated task finds the
message sent; a failed SMTP send leaves it unsent for the queue's retry."""

from __future__ import annotations

from sqlalchemy import select

from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.runtime import Runtime
from caredesk.storage.orm import Customer, Message
from caredesk.workorders import replies
from caredesk.workorders.tasks import send_reply_email
from tests.conftest import Mailbox, free_port
from tests.integration.test_work_orders import COMPLAINT, _org, sh, wo_runtime  # noqa: F401  (fixture)


def _email_order(rt: Runtime) -> str:
    outcome = do_receive_message(rt, IncomingMessage(COMPLAINT, "email", "cust-by-mail"))
    assert outcome.work_order_id
    with rt.uow() as uow:
        customer = uow.session.scalars(select(Customer).where(Customer.ref == "cust-by-mail")).one()
        customer.email = "customer@example.com"
        uow.commit()
    return outcome.work_order_id


def _to_customer(mailbox: Mailbox) -> list:
    return [m for m in mailbox.messages if "customer@example.com" in m["To"]]


def test_reply_email_is_sent_once(wo_runtime: Runtime, mailbox: Mailbox) -> None:
    rt = wo_runtime
    _org(rt)
    order_id = _email_order(rt)
    reply = replies.do_reply(rt, order_id, text="您好，年费已退回。", actor="cards.agent", now=sh(4, 16, 40))
    assert reply.emailed and reply.message_id
    mailbox.wait_for(1)
    (sent,) = _to_customer(mailbox)
    assert sent["Message-ID"] == f"<reply-{reply.message_id}@demo-bank.example>"
    assert send_reply_email(order_id, reply.message_id) == "skipped"  # the task again: nothing more
    assert len(_to_customer(mailbox)) == 1
    with rt.session_factory() as s:
        assert s.get(Message, reply.message_id).emailed_at is not None


def test_a_failed_send_is_retried_later(wo_runtime: Runtime, mailbox: Mailbox) -> None:
    rt = wo_runtime
    _org(rt)
    order_id = _email_order(rt)
    port = rt.mailer.port
    rt.mailer.port = free_port()  # nobody listens: the send fails
    try:
        reply = replies.do_reply(rt, order_id, text="您好，正在核实。", actor="cards.agent", now=sh(4, 16, 40))
    finally:
        rt.mailer.port = port
    with rt.session_factory() as s:
        assert s.get(Message, reply.message_id).emailed_at is None  # the claim was rolled back
    assert _to_customer(mailbox) == []
    assert send_reply_email(order_id, reply.message_id) == "sent"  # the queue's retry
    mailbox.wait_for(1)
    assert len(_to_customer(mailbox)) == 1
