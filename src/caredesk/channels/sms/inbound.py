"""Customer SMS in: a message is taken once (provider retries are acknowledged, not repeated), its number
becomes the customer's SMS contact, and it goes through intake with the reply sent back by SMS. "TD" /
"退订" / "STOP" / "UNSUBSCRIBE" alone opt the number out (one confirmation; no notice or survey afterwards);
"START" / "恢复" from an opted-out number opt it back in. Delivery receipts update the outgoing message."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.contact_customer import phone_contact
from caredesk.channels.delivery import queue_delivery
from caredesk.channels.inbound_claim import AlreadyTaken, InboundClaim, taken
from caredesk.channels.sms.formats import InboundSms, Receipt
from caredesk.channels.sms.text import keyword
from caredesk.compliance.masking import mask_text, mask_value
from caredesk.ids import new_id
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.intake.deps import IntakeDeps
from caredesk.storage.orm import ChannelContact, Conversation, Customer, Message, MessageDelivery

__all__ = ["CHANNEL", "ReceiptsRecorded", "SmsTaken", "do_receive_sms", "do_record_receipts"]

CHANNEL = "sms"
log = logging.getLogger(__name__)

_CONFIRM = {
    ("opt_out", "zh"): "您已退订本服务短信，今后不再向此号码发送通知和回访。回复“恢复”可重新接收。",
    ("opt_out", "en"): "You have unsubscribed: no more notices or surveys will be sent to this number. "
                       "Reply START to subscribe again.",
    ("opt_in", "zh"): "您已恢复接收本服务短信。回复TD可退订。",
    ("opt_in", "en"): "You will receive our messages again. Reply STOP to unsubscribe.",
}


@dataclass(frozen=True)
class SmsTaken:
    status: Literal["received", "duplicate", "opted_out", "opted_in"]
    conversation_id: str | None
    message_id: str | None


@dataclass(frozen=True)
class ReceiptsRecorded:
    updated: int
    unknown: int  # no delivery by that id (not ours, or a receipt that raced the send's record)


def _language(text: str) -> str:
    return "en" if text.strip().isascii() else "zh"


def _opt(rt: IntakeDeps, sms: InboundSms, action: Literal["opt_out", "opt_in"]) -> SmsTaken:
    """The keyword stored as the customer's message and the confirmation queued as a reply (a reply reaches an
    opted-out number: it answers their own message). A second "TD" from an opted-out number is stored but
    not confirmed again."""
    with rt.uow() as uow:
        s = uow.session
        now = rt.clock.now()
        claim = InboundClaim(CHANNEL, sms.external_id)
        claim.take(s, now=now)
        found = phone_contact(s, channel=CHANNEL, phone=sms.phone, now=now)
        contact = s.get(ChannelContact, found.contact_id)
        customer = s.scalar(select(Customer).where(Customer.ref == found.customer_ref))
        assert contact is not None and customer is not None
        changes = (contact.opted_out_at is None) == (action == "opt_out")
        contact.opted_out_at = (now if action == "opt_out" else None) if changes else contact.opted_out_at
        conversation = s.get(Conversation, found.conversation_id) if found.conversation_id else None
        if conversation is None:
            conversation = Conversation(id=new_id(), customer_id=customer.id, channel=CHANNEL, created_at=now,
                                        last_message_at=now, contact_id=contact.id)
            s.add(conversation)
        conversation.last_message_at = now
        language = _language(sms.text)
        message = Message(id=new_id(), conversation_id=conversation.id, direction="in", author="customer",
                          text=sms.text, text_masked=mask_text(sms.text)[0], language=language, created_at=now)
        s.add(message)
        if changes:
            text = _CONFIRM[(action, language)]
            reply = Message(id=new_id(), conversation_id=conversation.id, direction="out", author="system",
                            text=text, text_masked=text, language=language, created_at=now)
            s.add(reply)
            s.flush()
            queue_delivery(s, uow, reply, conversation, kind="reply", senders=rt.channels, now=now)
        s.flush()
        claim.keep_message(message.id)
        uow.commit()
    log.info("sms %s from %s (changed: %s)", action, mask_value("phone", sms.phone), changes)
    return SmsTaken("opted_out" if action == "opt_out" else "opted_in", conversation.id, message.id)


def do_receive_sms(rt: IntakeDeps, sms: InboundSms) -> SmsTaken:
    """One inbound SMS, once. The bot's reply is queued for the SMS sender in intake's transaction."""
    with rt.session_factory() as session:  # a retry costs no triage
        if taken(session, CHANNEL, sms.external_id) is not None:
            return SmsTaken("duplicate", None, None)
    action = keyword(sms.text)
    try:
        with rt.uow() as uow:
            found = phone_contact(uow.session, channel=CHANNEL, phone=sms.phone, now=rt.clock.now())
            uow.commit()
        if action == "opt_out" or (action == "opt_in" and found.opted_out):
            return _opt(rt, sms, action)
        claim = InboundClaim(CHANNEL, sms.external_id)
        outcome = do_receive_message(rt, IncomingMessage(
            sms.text, CHANNEL, found.customer_ref, found.conversation_id, contact_id=found.contact_id,
            deliver_reply=True), claim=claim)
    except AlreadyTaken:  # a concurrent retry of the same message committed first
        return SmsTaken("duplicate", None, None)
    log.info("sms in from %s: conversation %s, decision %s", mask_value("phone", sms.phone),
             outcome.conversation_id, outcome.decision.kind.value)
    return SmsTaken("received", outcome.conversation_id, outcome.message_id)


def _delivery(s: Session, receipt: Receipt) -> MessageDelivery | None:
    """Our id when the receipt echoes it (unique); else the newest delivery with the provider's id, which a
    gateway may reuse (a counter that wraps or restarts): the receipt is for the message it sent last."""
    mine = select(MessageDelivery).where(MessageDelivery.channel == CHANNEL).with_for_update()
    if receipt.delivery_id:
        found = s.scalar(mine.where(MessageDelivery.id == receipt.delivery_id))
        if found is not None:
            return found
    if not receipt.external_id:
        return None
    return s.scalar(mine.where(MessageDelivery.external_id == receipt.external_id)
                    .order_by(MessageDelivery.created_at.desc(), MessageDelivery.id.desc()).limit(1))


def do_record_receipts(rt: IntakeDeps, receipts: list[Receipt]) -> ReceiptsRecorded:
    """Delivered or failed, with the handset's time. A receipt repeated by the provider changes nothing; a
    failure after a success (or the reverse) is the provider's last word and is kept."""
    updated = unknown = 0
    with rt.uow() as uow:
        s = uow.session
        now = rt.clock.now()
        for receipt in receipts:
            delivery = _delivery(s, receipt)
            if delivery is None or delivery.status not in {"sent", "delivered", "failed", "pending"}:
                unknown += 1
                continue
            status = "delivered" if receipt.delivered else "failed"
            if delivery.status == status and delivery.receipt_at is not None:
                continue
            delivery.status, delivery.receipt_at = status, receipt.at or now
            if receipt.external_id and delivery.external_id is None:
                delivery.external_id = receipt.external_id
            if receipt.error:
                delivery.last_error = receipt.error[:500]
            updated += 1
        uow.commit()
    if unknown:
        log.info("sms receipts: %d for no known delivery", unknown)
    return ReceiptsRecorded(updated, unknown)
