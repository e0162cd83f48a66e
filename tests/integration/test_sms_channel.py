"""Customer SMS end to end (SQLite and PostgreSQL) through the real app, with a real local HTTP server
standing in for the gateway's and Aliyun's send APIs: inbound messages answered by SMS, provider retries
taken once, delivery receipts, opt-out respected for notices, transient and permanent send failures, and
forged, stale or malformed webhooks refused with nothing stored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.delivery import deliver_message, queue_delivery
from caredesk.channels.sms.aliyun import signature
from caredesk.channels.sms.formats import Receipt
from caredesk.channels.sms.inbound import do_record_receipts
from caredesk.channels.sms.signature import sign
from caredesk.channels.sms.text import sms_length
from caredesk.http.app import create_app
from caredesk.ids import new_id
from caredesk.storage.orm import (
    ChannelContact,
    Conversation,
    Customer,
    InboundKey,
    Message,
    MessageDelivery,
)
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox
from tests.integration.alarm_helpers import Receiver, demo_runtime_with, http_receiver

SECRET = "sms-webhook-secret-for-tests"
PHONE = "13800001111"
QUESTION = "信用卡账单怎么查询"


@contextmanager
def sms_app(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, receiver: Receiver,
            **settings: Any) -> Iterator[tuple[Runtime, TestClient]]:
    values: dict[str, Any] = dict(sms_gateway_url=f"{receiver.url}/sms", sms_gateway_token="gw-token",
                                  sms_inbound_secret=SECRET, sms_reply_max_segments=2)
    values.update(settings)
    with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, **values) as rt, \
            TestClient(create_app(rt, start_consumer=False)) as client:
        yield rt, client


def post_signed(client: TestClient, path: str, payload: Any, *, secret: str = SECRET, at: int | None = None
                ) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode()
    header = sign(secret, int(at if at is not None else time.time()), body)
    return client.post(path, content=body, headers={"Content-Type": "application/json",
                                                    "X-CareDesk-Signature": header})


def inbound(text: str, sms_id: str, phone: str = PHONE) -> dict[str, str]:
    return {"from": phone, "to": "95555", "text": text, "id": sms_id, "received_at": "2026-12-07T10:00:00+08:00"}


def counts(rt: Runtime) -> tuple[int, int, int, int]:
    with rt.session_factory() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)  # type: ignore[return-value]
                     for t in (Message, ChannelContact, InboundKey, MessageDelivery))


def deliveries(rt: Runtime) -> list[MessageDelivery]:
    with rt.session_factory() as s:
        return list(s.scalars(select(MessageDelivery).order_by(MessageDelivery.created_at, MessageDelivery.id)))


def sms_posts(receiver: Receiver) -> list[Any]:
    return [r.json() for r in receiver.requests if r.path == "/sms"]


def test_sms_inbound_answered_by_sms_retry_taken_once_and_receipt_recorded(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with http_receiver() as receiver, sms_app(db_url, tmp_path, mailbox, pipeline, receiver) as (rt, client):
        receiver.reply = {"id": "gw-0001"}
        answer = post_signed(client, "/channels/sms/inbound", inbound(QUESTION, "in-1"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "received"
        conversation_id = answer.json()["conversation_id"]

        # the bot's reply went out by SMS to the customer's number, cut to the configured two segments
        (sent,) = sms_posts(receiver)
        assert sent["to"] == "+8613800001111" and sms_length(sent["text"]).segments <= 2
        assert receiver.requests[0].headers["authorization"] == "Bearer gw-token"
        (delivery,) = deliveries(rt)
        assert (delivery.status, delivery.kind, delivery.external_id, delivery.attempts) == ("sent", "reply",
                                                                                               "gw-0001", 1)
        assert sent["ref"] == delivery.id
        with rt.session_factory() as s:
            conversation = s.get(Conversation, conversation_id)
            assert conversation is not None and conversation.channel == "sms" and conversation.contact_id
            contact = s.get(ChannelContact, conversation.contact_id)
            assert contact is not None and contact.address == "+8613800001111" and contact.channel == "sms"
            customer = s.get(Customer, contact.customer_id)
            assert customer is not None and customer.ref.startswith("tel:") and PHONE not in customer.ref

        # the provider retries the same message: acknowledged, nothing doubled, nothing sent again
        before = counts(rt)
        again = post_signed(client, "/channels/sms/inbound", inbound(QUESTION, "in-1"))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert counts(rt) == before and len(sms_posts(receiver)) == 1

        # a second message within the day continues the conversation (the gateway gives its reply its own id)
        receiver.reply = {"id": "gw-0002"}
        follow = post_signed(client, "/channels/sms/inbound", inbound("还有储蓄卡的账单呢", "in-2"))
        assert follow.json()["conversation_id"] == conversation_id and len(sms_posts(receiver)) == 2

        # the gateway's delivery receipt (repeated: the second changes nothing)
        for updated in (1, 0):
            receipt = post_signed(client, "/channels/sms/receipts", {"id": "gw-0001", "status": "delivered",
                                                                     "at": "2026-12-07T02:00:03Z"})
            assert receipt.status_code == 200 and receipt.json() == {"updated": updated, "unknown": 0}
        delivery, second = deliveries(rt)
        assert (second.external_id, second.status) == ("gw-0002", "sent")
        assert delivery.status == "delivered" and delivery.receipt_at is not None
        assert delivery.receipt_at.isoformat() == "2026-12-07T02:00:03+00:00"
        unknown = post_signed(client, "/channels/sms/receipts", {"id": "not-ours", "status": "failed"})
        assert unknown.json() == {"updated": 0, "unknown": 1}


def test_sms_receipt_for_a_reused_gateway_id_goes_to_its_latest_message_and_our_id_wins(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    """A gateway whose ids restart reuses one: its receipt is for the message it sent last; a receipt that
    echoes our own id (Aliyun's out_id) is for that message whatever the provider's id."""
    with http_receiver() as receiver, sms_app(db_url, tmp_path, mailbox, pipeline, receiver) as (rt, client):
        receiver.reply = {"id": "gw-0001"}
        for n, text in enumerate((QUESTION, "还有储蓄卡的账单呢")):
            assert post_signed(client, "/channels/sms/inbound", inbound(text, f"re-{n}")).status_code == 200
        first, latest = deliveries(rt)
        assert first.external_id == latest.external_id == "gw-0001" and first.created_at < latest.created_at
        failed = post_signed(client, "/channels/sms/receipts", {"id": "gw-0001", "status": "failed"})
        assert failed.json() == {"updated": 1, "unknown": 0}
        assert [(d.id, d.status) for d in deliveries(rt)] == [(first.id, "sent"), (latest.id, "failed")]
        echoed = do_record_receipts(rt, [Receipt(external_id="gw-0001", delivery_id=first.id, delivered=True,
                                                 at=None, error=None)])
        assert (echoed.updated, echoed.unknown) == (1, 0)
        assert [(d.id, d.status) for d in deliveries(rt)] == [(first.id, "delivered"), (latest.id, "failed")]


def test_sms_webhook_refuses_forged_stale_unsigned_and_malformed_bodies_storing_nothing(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with http_receiver() as receiver, sms_app(db_url, tmp_path, mailbox, pipeline, receiver,
                                              sms_aliyun_callback_token="ali-token") as (rt, client):
        before = counts(rt)
        forged = post_signed(client, "/channels/sms/inbound", inbound(QUESTION, "x1"), secret="guessed")
        stale = post_signed(client, "/channels/sms/inbound", inbound(QUESTION, "x2"), at=int(time.time()) - 3600)
        unsigned = client.post("/channels/sms/inbound", json=inbound(QUESTION, "x3"))
        token_only = client.post("/channels/sms/inbound", json=inbound(QUESTION, "x4"),
                                 headers={"X-CareDesk-Token": "anything"})
        for refused in (forged, stale, unsigned, token_only):
            assert refused.status_code == 403 and refused.json()["code"] == "sms_signature_refused"
        assert forged.json()["details"]["reason"] == "mismatch" and stale.json()["details"]["reason"] == "stale"

        for payload in ({"from": PHONE, "text": "hi"}, {"from": "nobody", "text": "hi", "id": "m"},
                        [inbound(QUESTION, "x5")], {"from": PHONE, "text": "", "id": "m2"}):
            bad = post_signed(client, "/channels/sms/inbound", payload)
            assert bad.status_code == 400 and bad.json()["code"] == "invalid_sms_payload", bad.text
        not_json = client.post("/channels/sms/inbound", content=b"{nope",
                               headers={"X-CareDesk-Signature": sign(SECRET, int(time.time()), b"{nope")})
        assert not_json.status_code == 400 and not_json.json()["code"] == "invalid_sms_payload"
        huge = b"x" * (300 * 1024)
        too_big = client.post("/channels/sms/inbound", content=huge,
                              headers={"X-CareDesk-Signature": sign(SECRET, int(time.time()), huge)})
        assert too_big.status_code == 413

        # Aliyun's push: wrong token, and a batch with one bad item refused whole
        wrong = client.post("/channels/sms/aliyun/inbound?token=guess", json=[{"phone_number": PHONE,
                                                                                 "content": "hi",
                                                                                 "sequence_id": 1}])
        assert wrong.status_code == 403
        half_bad = client.post("/channels/sms/aliyun/inbound?token=ali-token", json=[
            {"phone_number": PHONE, "content": QUESTION, "sequence_id": 7},
            {"phone_number": PHONE, "sequence_id": 8}])
        assert half_bad.status_code == 400 and half_bad.json()["code"] == "invalid_sms_payload"
        assert counts(rt) == before and receiver.requests == []


def test_sms_opt_out_confirmed_once_notices_skipped_replies_still_answer_and_opt_in(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with http_receiver() as receiver, sms_app(db_url, tmp_path, mailbox, pipeline, receiver) as (rt, client):
        first = post_signed(client, "/channels/sms/inbound", inbound(QUESTION, "o-1"))
        conversation_id = first.json()["conversation_id"]
        assert len(sms_posts(receiver)) == 1

        stop = post_signed(client, "/channels/sms/inbound", inbound("退订", "o-2"))
        assert stop.json()["status"] == "opted_out" and stop.json()["conversation_id"] == conversation_id
        posts = sms_posts(receiver)
        assert len(posts) == 2 and "退订" in posts[1]["text"] and "恢复" in posts[1]["text"]
        again = post_signed(client, "/channels/sms/inbound", inbound("td", "o-3"))
        assert again.json()["status"] == "opted_out" and len(sms_posts(receiver)) == 2  # no second confirmation
        with rt.session_factory() as s:
            contact = s.scalar(select(ChannelContact).where(ChannelContact.channel == "sms"))
            assert contact is not None and contact.opted_out_at is not None
            texts = [m.text for m in s.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                               .order_by(Message.created_at, Message.id))]
            assert "退订" in texts and "td" in texts

        # a notice and a survey for this conversation are recorded but never sent to the opted-out number
        for kind in ("notice", "survey"):
            with rt.uow() as uow:
                s = uow.session
                conversation = s.get(Conversation, conversation_id)
                assert conversation is not None
                message = Message(id=new_id(), conversation_id=conversation_id, direction="out", author="system",
                                  text=f"您的工单进展（{kind}）", text_masked="-", created_at=rt.clock.now())
                s.add(message)
                s.flush()
                queue_delivery(s, uow, message, conversation, kind=kind, senders=rt.channels, now=rt.clock.now())
                uow.commit()
        skipped = [d for d in deliveries(rt) if d.kind in {"notice", "survey"}]
        assert [(d.status, d.last_error) for d in skipped] == [("skipped", "opted_out")] * 2
        assert deliver_message(skipped[0].id) == "skipped" and len(sms_posts(receiver)) == 2

        # their own question is still answered (a reply answers the customer's message)
        question = post_signed(client, "/channels/sms/inbound", inbound("储蓄卡怎么挂失", "o-4"))
        assert question.json()["status"] == "received" and len(sms_posts(receiver)) == 3

        back = post_signed(client, "/channels/sms/inbound", inbound("恢复", "o-5"))
        assert back.json()["status"] == "opted_in" and len(sms_posts(receiver)) == 4
        with rt.session_factory() as s:
            contact = s.scalar(select(ChannelContact).where(ChannelContact.channel == "sms"))
            assert contact is not None and contact.opted_out_at is None


def test_sms_send_failures_transient_retried_permanent_recorded(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with http_receiver() as receiver, sms_app(db_url, tmp_path, mailbox, pipeline, receiver) as (rt, client):
        receiver.statuses = [503]
        post_signed(client, "/channels/sms/inbound", inbound(QUESTION, "f-1"))
        (delivery,) = deliveries(rt)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.last_error is not None and "503" in delivery.last_error
        assert deliver_message(delivery.id) == "sent"  # the queue's retry
        assert deliveries(rt)[0].attempts == 2 and len(sms_posts(receiver)) == 2

        receiver.statuses = [400]  # the gateway refuses the number for good: no retry
        post_signed(client, "/channels/sms/inbound", inbound(QUESTION, "f-2", phone="13900002222"))
        refused = deliveries(rt)[-1]
        assert (refused.status, refused.attempts) == ("failed", 1)
        assert refused.last_error is not None and "400" in refused.last_error
        assert deliver_message(refused.id) == "skipped" and len(sms_posts(receiver)) == 3


def _aliyun_signed_correctly(received: Any) -> bool:
    form = dict(parse_qsl(received.body.decode(), keep_blank_values=True))
    given = form.pop("Signature", "")
    return bool(given) and given == signature(form, "ali-secret")


def test_sms_aliyun_uplink_reply_by_sendsms_and_delivery_report(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with http_receiver() as receiver, sms_app(
            db_url, tmp_path, mailbox, pipeline, receiver, sms_provider="aliyun",
            sms_aliyun_access_key_id="ali-id", sms_aliyun_access_key_secret="ali-secret",
            sms_aliyun_sign_name="某银行", sms_aliyun_template_code="SMS_1000",
            sms_aliyun_api_base=receiver.url, sms_aliyun_callback_token="ali-token") as (rt, client):
        receiver.reply = {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r1"}
        push = [{"phone_number": PHONE, "send_time": "2026-12-07 10:00:00", "content": QUESTION,
                 "sign_name": "某银行", "dest_code": "1234", "sequence_id": 1234567}]
        answer = client.post("/channels/sms/aliyun/inbound?token=ali-token", json=push)
        assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "成功"}
        (request,) = receiver.requests
        assert _aliyun_signed_correctly(request)
        form = dict(parse_qsl(request.body.decode()))
        assert (form["Action"], form["PhoneNumbers"], form["SignName"], form["TemplateCode"]) == (
            "SendSms", "8613800001111", "某银行", "SMS_1000")
        assert json.loads(form["TemplateParam"])["content"]
        (delivery,) = deliveries(rt)
        assert (delivery.status, delivery.external_id) == ("sent", "900619746936498440^0")
        assert form["OutId"] == delivery.id

        # Aliyun pushes the batch again: taken once
        assert client.post("/channels/sms/aliyun/inbound?token=ali-token", json=push).status_code == 200
        assert len(receiver.requests) == 1

        report = [{"phone_number": PHONE, "send_time": "2026-12-07 10:00:01", "report_time": "2026-12-07 10:00:04",
                   "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
                   "biz_id": "900619746936498440^0", "out_id": delivery.id}]
        assert client.post("/channels/sms/aliyun/receipts?token=ali-token", json=report).json()["code"] == 0
        delivery = deliveries(rt)[0]
        assert delivery.status == "delivered" and delivery.receipt_at is not None
        assert delivery.receipt_at.isoformat() == "2026-12-07T02:00:04+00:00"

        # Aliyun refuses a number (permanent) and is down a moment (transient, retried)
        receiver.reply = {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        client.post("/channels/sms/aliyun/inbound?token=ali-token",
                    json=[{**push[0], "phone_number": "13900003333", "sequence_id": 2}])
        assert (deliveries(rt)[-1].status, deliveries(rt)[-1].last_error) == (
            "failed", "Aliyun SMS refused the message: isv.MOBILE_NUMBER_ILLEGAL")
        receiver.reply = {"Code": "isp.SYSTEM_ERROR", "Message": "系统错误"}
        client.post("/channels/sms/aliyun/inbound?token=ali-token",
                    json=[{**push[0], "phone_number": "13900004444", "sequence_id": 3}])
        pending = deliveries(rt)[-1]
        assert pending.status == "pending" and "isp.SYSTEM_ERROR" in (pending.last_error or "")
        receiver.reply = {"Code": "OK", "BizId": "901"}
        assert deliver_message(pending.id) == "sent" and deliveries(rt)[-1].external_id == "901"
        assert all(_aliyun_signed_correctly(r) for r in receiver.requests)
