"""Writing on a work order: replies to the customer on their channel (checked by the outgoing compliance
rules first), internal notes for staff, and the macros (canned replies) that fill a reply in. Each `do_*`
owns its transaction; the e-mail and the workbench refresh leave only after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from caredesk.channels.delivery import queue_delivery
from caredesk.errors import ComplianceBlocked, Conflict, InvalidInput, NotFound
from caredesk.storage.orm import Conversation, Customer, Macro, Message, WorkOrder
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders._shared import open_order
from caredesk.workorders.actions import append_event, get_work_order
from caredesk.workorders.deps import WorkOrderDeps
from caredesk.workorders.events import ReplyEmailDue, WorkOrderChanged

__all__ = ["ReplyOutcome", "customer_reply", "do_add_note", "do_create_macro", "do_reply", "render_macro"]


def render_macro(macro: Macro, *, language: str | None, order: WorkOrder, customer: Customer | None) -> str:
    body = macro.body_en if language == "en" else macro.body_zh
    name = (customer.name if customer and customer.name else "") or ("customer" if language == "en" else "客户")
    return body.replace("{customer}", name).replace("{order}", order.number)


@dataclass(frozen=True)
class ReplyOutcome:
    order: WorkOrder
    message_id: str | None
    emailed: bool


def customer_reply(rt: WorkOrderDeps, uow: UnitOfWork, order: WorkOrder, text: str, *, author: str, now: datetime
                   ) -> ReplyOutcome:
    """A reply on the channel the customer used, in the caller's transaction: a message in their
    conversation, and an e-mail when the channel is e-mail and the address is known. The outgoing
    compliance rules check it first: a blocked reply is refused with the reasons, a warned one goes out
    with the warning on the order's timeline."""
    s = uow.session
    check = rt.outgoing.check(text)
    if check.blocked:
        raise ComplianceBlocked(f"the reply was not sent: {check.reason()}", check=check.to_json())
    if check.hits:
        append_event(s, order, "compliance_warning", actor="compliance", now=now, data=check.to_json())
    conversation = s.get(Conversation, order.conversation_id) if order.conversation_id else None
    message_id = None
    if conversation is not None:
        message = Message(conversation_id=conversation.id, direction="out", author=author, text=text,
                          text_masked=text, language=order.language, created_at=now)
        s.add(message)
        s.flush()
        message_id = message.id
        conversation.last_message_at = now
        if conversation.channel != "email":  # e-mail keeps its own path below (ReplyEmailDue)
            queue_delivery(s, uow, message, conversation, kind="reply", senders=rt.channels, now=now)
    customer = s.get(Customer, order.customer_id) if order.customer_id else None
    emailed = bool(order.channel == "email" and customer is not None and customer.email)
    if emailed:
        uow.record(ReplyEmailDue(order.id, message_id or ""))
    return ReplyOutcome(order, message_id, emailed)


def do_reply(rt: WorkOrderDeps, order_id: str, *, text: str = "", macro: str | None = None, actor: str,
             now: datetime) -> ReplyOutcome:
    """Answer the customer (stops the first/next-response clocks); `macro` fills in a canned reply."""
    with rt.uow() as uow:
        s = uow.session
        order = open_order(s, order_id)
        if macro:
            found = s.scalar(select(Macro).where(Macro.code == macro))
            if found is None:
                raise NotFound("macro not found", code=macro)
            customer = s.get(Customer, order.customer_id) if order.customer_id else None
            text = (render_macro(found, language=order.language, order=order, customer=customer)
                    + ("\n\n" + text if text.strip() else ""))
        if not text.strip():
            raise InvalidInput("the reply is empty", field="text")
        outcome = customer_reply(rt, uow, order, text.strip(), author="agent", now=now)
        order.first_response_at = order.first_response_at or now
        order.awaiting_reply_since, order.updated_at = None, now
        order.sla_next_check_at = now if order.sla_policy else None
        append_event(s, order, "reply", actor=actor, now=now, note=text.strip()[:4000],
                     data={"message_id": outcome.message_id, "macro": macro, "emailed": outcome.emailed})
        uow.record(WorkOrderChanged(order_id))
        uow.commit()
    return outcome


def do_add_note(rt: WorkOrderDeps, order_id: str, *, text: str, actor: str, now: datetime) -> WorkOrder:
    """An internal note: on the timeline for staff, never sent to the customer."""
    if not text.strip():
        raise InvalidInput("the note is empty", field="text")
    with rt.uow() as uow:
        order = get_work_order(uow.session, order_id, for_update=True)
        append_event(uow.session, order, "note", actor=actor, now=now, note=text.strip()[:4000],
                     data={"internal": True})
        order.updated_at = now
        uow.commit()
    return order


def do_create_macro(rt: WorkOrderDeps, *, code: str, title_zh: str, title_en: str, body_zh: str, body_en: str,
                    actor: str, now: datetime) -> Macro:
    with rt.uow() as uow:
        if uow.session.scalar(select(Macro.id).where(Macro.code == code)) is not None:
            raise Conflict("a macro with this code exists", code=code)
        macro = Macro(code=code, title_zh=title_zh, title_en=title_en, body_zh=body_zh, body_en=body_en,
                      created_at=now)
        uow.session.add(macro)
        uow.commit()
    return macro
