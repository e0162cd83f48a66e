"""The channel foundation (channels/delivery.py): a reply to a customer on an outside channel is recorded with the
message, sent by the channel's sender once, retried after a transient failure, given up on a permanent refusal,
and notices never reach an opted-out contact. The sender here speaks to a real local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.contacts import contact_for, current_conversation
from caredesk.channels.delivery import deliver_message, queue_delivery
from caredesk.channels.outbound import Outgoing, SendRefused, Sent
from caredesk.clock import FrozenClock
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import ChannelContact, Conversation, Message, MessageDelivery
from tests.integration.alarm_helpers import Receiver, http_receiver

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CHANNEL = "app"  # a channel no package delivers to: the test's own sender stands in for the provider client


class HttpSender:
    """What a provider client does: POST, a 5xx is transient (OSError: the queue retries), a 4xx final."""

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, out: Outgoing) -> Sent:
        try:
            answer = httpx.post(self.url + "/send", json={"to": out.address, "text": out.text, "kind": out.kind},
                                timeout=5)
        except httpx.HTTPError as exc:
            raise OSError(str(exc)) from exc
        if answer.status_code >= 500:
            raise OSError(f"provider answered {answer.status_code}")
        if answer.status_code >= 400:
            raise SendRefused(f"provider refused: {answer.status_code}")
        return Sent(external_id=str(answer.json().get("id")))


@pytest.fixture
def provider(runtime: Runtime) -> Iterator[Receiver]:
    with http_receiver() as box:
        box.reply = {"id": "prov-1"}
        runtime.channels.add(CHANNEL, HttpSender(box.url))
        runtime.clock = FrozenClock(T0)
        yield box


def _contact(rt: Runtime, address: str = "+8613800138000") -> str:
    with rt.uow() as uow:
        contact = contact_for(uow.session, channel=CHANNEL, account="", address=address,
                              customer_ref=f"app:{address[-4:]}", now=rt.clock.now())
        contact_id = contact.id
        uow.commit()
    return contact_id


def _receive(rt: Runtime, contact_id: str, text: str = "信用卡年费怎么收取？") -> str:
    outcome = do_receive_message(rt, IncomingMessage(text, CHANNEL, "app:8000", contact_id=contact_id,
                                                     deliver_reply=True))
    assert outcome.reply_message_id is not None
    return outcome.reply_message_id


def test_the_bot_reply_goes_out_once_by_the_channel_sender(runtime: Runtime, provider: Receiver) -> None:
    contact_id = _contact(runtime)
    reply_id = _receive(runtime, contact_id)
    assert len(provider.requests) == 1
    sent = provider.requests[0].json()
    assert sent["to"] == "+8613800138000" and sent["kind"] == "reply"
    with runtime.session_factory() as s:
        delivery = s.scalar(select(MessageDelivery).where(MessageDelivery.message_id == reply_id))
        assert delivery is not None and delivery.status == "sent" and delivery.external_id == "prov-1"
        assert sent["text"] == s.get(Message, reply_id).text  # type: ignore[union-attr]
        # the contact is the conversation's, and a later message continues that conversation
        conversation = s.get(Conversation, delivery.conversation_id)
        contact = s.get(ChannelContact, contact_id)
        assert conversation is not None and contact is not None and conversation.contact_id == contact_id
        assert current_conversation(s, contact, T0 + timedelta(hours=1)) == conversation.id
        assert current_conversation(s, contact, T0 + timedelta(days=2)) is None
    assert deliver_message(delivery.id) == "skipped"  # a second run of the task sends nothing
    assert len(provider.requests) == 1


def test_a_transient_failure_is_retried_after_the_claim_and_a_refusal_is_final(runtime: Runtime,
                                                                                provider: Receiver) -> None:
    contact_id = _contact(runtime)
    provider.statuses = [503]  # the provider is down for the first try
    _receive(runtime, contact_id)  # stored and answered; the send failed after the commit
    with runtime.session_factory() as s:
        delivery = s.scalars(select(MessageDelivery)).one()
        assert delivery.status == "pending" and delivery.attempts == 1 and "503" in (delivery.last_error or "")
    runtime.clock.advance(runtime.settings.notice_claim)  # type: ignore[attr-defined]
    assert deliver_message(delivery.id) == "sent"
    assert len(provider.requests) == 2

    provider.statuses = [400]
    with runtime.uow() as uow:
        conversation = uow.session.get(Conversation, delivery.conversation_id)
        assert conversation is not None
        note = Message(conversation_id=conversation.id, direction="out", author="system", text="您的工单已受理",
                       text_masked="您的工单已受理", created_at=runtime.clock.now())
        uow.session.add(note)
        uow.session.flush()
        refused = queue_delivery(uow.session, uow, note, conversation, kind="notice", senders=runtime.channels,
                                 now=runtime.clock.now())
        assert refused is not None
        uow.commit()
    with runtime.session_factory() as s:
        row = s.get(MessageDelivery, refused.id)
        assert row is not None and row.status == "failed" and row.attempts == 1
    assert deliver_message(refused.id) == "skipped"  # not retried
    assert len(provider.requests) == 3


def test_an_opted_out_contact_gets_replies_but_no_notices(runtime: Runtime, provider: Receiver) -> None:
    contact_id = _contact(runtime)
    _receive(runtime, contact_id)
    with runtime.uow() as uow:
        s = uow.session
        s.get(ChannelContact, contact_id).opted_out_at = runtime.clock.now()  # type: ignore[union-attr]
        conversation = s.scalars(select(Conversation)).one()
        note = Message(conversation_id=conversation.id, direction="out", author="system", text="满意度调查",
                       text_masked="满意度调查", created_at=runtime.clock.now())
        s.add(note)
        s.flush()
        survey = queue_delivery(s, uow, note, conversation, kind="survey", senders=runtime.channels,
                                now=runtime.clock.now())
        assert survey is not None
        survey_id = survey.id
        uow.commit()
    with runtime.session_factory() as s:
        assert s.get(MessageDelivery, survey_id).status == "skipped"  # type: ignore[union-attr]
    _receive(runtime, contact_id, "那年费能退吗？")  # the customer writes again: the reply still goes out
    assert [r.json()["kind"] for r in provider.requests] == ["reply", "reply"]


def test_a_channel_without_a_sender_keeps_the_reply_in_the_conversation_only(runtime: Runtime) -> None:
    outcome = do_receive_message(runtime, IncomingMessage("信用卡年费怎么收取？", "api", "api-customer-1",
                                                          deliver_reply=True))
    assert outcome.reply_message_id is not None
    with runtime.session_factory() as s:
        assert s.scalars(select(MessageDelivery)).all() == []
