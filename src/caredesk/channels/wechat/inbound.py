"""A pushed WeChat / WeCom message taken in: the customer's contact, the conversation it continues, intake
with the provider's message id taken in the same transaction (a provider retry finds it and stores
nothing), and the follow / unfollow events."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.contacts import contact_for, contact_of, current_conversation
from caredesk.channels.inbound_claim import AlreadyTaken, InboundClaim, taken
from caredesk.channels.wechat.accounts import Account
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.intake.deps import IntakeDeps
from caredesk.storage.orm import Customer, InboundKey, Message, MessageDelivery

__all__ = ["PassiveGate", "TakenIn", "customer_ref", "do_follow", "do_take_in", "do_unfollow",
           "earlier_passive_reply", "message_text"]

PASSIVE = "answered in the callback (passive reply)"  # a reply's delivery row that the callback answered


@dataclass(frozen=True)
class TakenIn:
    message_id: str
    reply_text: str | None
    passive: bool  # the reply goes back in the callback's answer, not by the customer-service API
    work_order_id: str | None = None


class PassiveGate:
    """Who wins between the callback's time budget and intake's commit: the first to decide. When intake
    decides first, the reply goes back in the callback's answer (its delivery row is marked so); when the
    budget runs out first, the callback answers "success" and the delivery row is sent by the API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._choice: str | None = None

    def _choose(self, choice: str) -> bool:
        with self._lock:
            if self._choice is None:
                self._choice = choice
            return self._choice == choice

    def passive(self) -> bool:
        return self._choose("passive")

    def give_up(self) -> bool:
        return self._choose("async")

    @property
    def gave_up(self) -> bool:
        with self._lock:
            return self._choice == "async"


def customer_ref(account: Account, user: str) -> str:
    return f"{account.kind}:{account.name}:{user}"


def message_text(msg_type: str, *, content: str = "", media_id: str = "", pic_url: str = "",
                 recognition: str = "") -> str:
    """What the conversation keeps of a message: the text, WeChat's recognition of a voice message, or a
    note with the media reference (the media itself is not downloaded)."""
    if msg_type == "text":
        return content
    if msg_type == "voice":
        return recognition.strip() or f"[语音消息 voice message] MediaId: {media_id}"
    if msg_type == "image":
        return f"[图片 image] MediaId: {media_id}" + (f" PicUrl: {pic_url}" if pic_url else "")
    return f"[{msg_type}]" + (f" MediaId: {media_id}" if media_id else "")


class _InboundClaim:
    """The provider's message id, taken first thing in intake's transaction (channels/inbound_claim.py: a
    concurrent retry waits, then fails); at the commit it names the message and settles the reply's way."""

    def __init__(self, channel: str, external_id: str, gate: PassiveGate | None) -> None:
        self.key = InboundClaim(channel, external_id)
        self.gate = gate
        self.passive = False
        self._session: Session | None = None

    def take(self, session: Session, *, now: datetime) -> None:
        self.key.take(session, now=now)  # AlreadyTaken: the provider's retry of a message taken in
        self._session = session

    def keep(self, result: IntakeOutcome) -> object:
        assert self._session is not None
        self.key.keep(result)
        if self.gate is not None and result.reply_message_id is not None and self.gate.passive():
            self.passive = True
            delivery = self._session.scalar(select(MessageDelivery).where(
                MessageDelivery.message_id == result.reply_message_id))
            if delivery is not None:
                delivery.status, delivery.last_error = "skipped", PASSIVE
        return None


def do_take_in(rt: IntakeDeps, account: Account, user: str, external_id: str, text: str, *,
               gate: PassiveGate | None = None) -> TakenIn:
    """One customer message through intake. AlreadyTaken when the provider sent it before."""
    now = rt.clock.now()
    with rt.uow() as uow:
        s = uow.session
        if taken(s, account.kind, external_id) is not None:
            raise AlreadyTaken(external_id)
        contact = contact_for(s, channel=account.kind, account=account.name, address=user,
                              customer_ref=customer_ref(account, user), now=now)
        ref = s.scalar(select(Customer.ref).where(Customer.id == contact.customer_id))
        conversation_id = current_conversation(s, contact, now)
        contact_id = contact.id
        uow.commit()
    assert ref is not None
    claim = _InboundClaim(account.kind, external_id, gate)
    outcome = do_receive_message(rt, IncomingMessage(text=text, channel=account.kind, customer_ref=ref,
                                                     conversation_id=conversation_id, contact_id=contact_id,
                                                     deliver_reply=True), claim=claim)
    return TakenIn(outcome.message_id, outcome.reply_text, claim.passive, outcome.work_order_id)


def do_follow(rt: IntakeDeps, account: Account, user: str, external_id: str) -> bool:
    """A new (or returning) follower: the contact, ready for their first message. False for a retry."""
    now = rt.clock.now()
    with rt.uow() as uow:
        s = uow.session
        if taken(s, account.kind, external_id) is not None:
            return False
        s.add(InboundKey(channel=account.kind, external_id=external_id, created_at=now))
        contact = contact_for(s, channel=account.kind, account=account.name, address=user,
                              customer_ref=customer_ref(account, user), now=now)
        contact.opted_out_at = None
        uow.commit()
    return True


def do_unfollow(rt: IntakeDeps, account: Account, user: str) -> bool:
    """The customer unfollowed: no notice or survey goes to them any more (WeChat would refuse it too)."""
    now = rt.clock.now()
    with rt.uow() as uow:
        contact = contact_of(uow.session, account.kind, account.name, user)
        if contact is None:
            return False
        if contact.opted_out_at is None:
            contact.opted_out_at = now
        uow.commit()
    return True


def earlier_passive_reply(rt: IntakeDeps, channel: str, external_id: str) -> str | None:
    """The reply given in the callback's answer to a message taken in before: a provider retry means that
    answer may not have arrived, so it is given again (nothing else is stored or sent)."""
    with rt.session_factory() as s:
        message_id = s.scalar(select(InboundKey.message_id).where(InboundKey.channel == channel,
                                                                  InboundKey.external_id == external_id))
        if message_id is None:
            return None
        found = s.execute(select(Message.text).join(MessageDelivery, MessageDelivery.message_id == Message.id)
                          .where(MessageDelivery.last_error == PASSIVE,
                                 Message.conversation_id == select(Message.conversation_id)
                                 .where(Message.id == message_id).scalar_subquery(),
                                 Message.created_at == select(Message.created_at)
                                 .where(Message.id == message_id).scalar_subquery())).first()
        return found[0] if found else None
