"""POST /api/v1/calls for real (SQLite and PostgreSQL, the real app): a call's transcript becomes a phone
conversation (the customer's side triaged into a work order or the emergency response, the agent's turns
stored and not sent), once per call id; bad input is a 400 with a stable code and stores nothing; a call
without a transcript needs the configured speech engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import (
    ChannelContact,
    Conversation,
    EmergencyMeeting,
    Message,
    MessageDelivery,
    PhoneCall,
    WorkOrder,
)
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, create_key
from tests.integration.alarm_helpers import demo_runtime_with

URGENT = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"


@contextmanager
def calls_app(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, **settings: Any
              ) -> Iterator[tuple[Runtime, TestClient]]:
    with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, **settings) as rt, \
            TestClient(create_app(rt, start_consumer=False)) as client:
        client.headers["Authorization"] = f"Bearer {create_key(rt)}"
        yield rt, client


def call(call_id: str, customer_text: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_id": call_id, "caller": "13800005555", "started_at": "2026-12-07T10:00:00+08:00",
        "recording_ref": f"rec://calls/{call_id}.wav", "language": "zh",
        "segments": [{"speaker": "agent", "start_ms": 0, "end_ms": 2000, "text": "您好，这里是客服中心"},
                     {"speaker": "customer", "start_ms": 2500, "end_ms": 9000, "text": customer_text},
                     {"speaker": "agent", "start_ms": 9500, "end_ms": 12000, "text": "好的，我马上为您登记处理"},
                     {"speaker": "customer", "start_ms": 12500, "end_ms": 13000, "text": "谢谢"}]}
    return body | extra


def counts(rt: Runtime) -> tuple[int, ...]:
    with rt.session_factory() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)
                     for t in (Message, Conversation, PhoneCall, WorkOrder, ChannelContact))


def test_call_becomes_a_phone_conversation_with_agent_turns_once_per_call_id(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with calls_app(db_url, tmp_path, mailbox, pipeline) as (rt, client):
        first = client.post("/api/v1/calls", json=call("c-1001", URGENT))
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["decision"] == "emergency" and body["meeting_id"] and body["work_order_id"]
        assert body["case_number"] and body["transcript_source"] == "request" and not body["truncated"]
        assert len(body["message_ids"]) == 3 and body["message_ids"][0] == body["customer_message_id"]
        with rt.session_factory() as s:
            conversation = s.get(Conversation, body["conversation_id"])
            assert conversation is not None and conversation.channel == "phone" and conversation.contact_id
            messages = {m.id: m for m in s.scalars(select(Message).where(
                Message.conversation_id == conversation.id))}
            customer = messages[body["customer_message_id"]]
            assert (customer.author, customer.direction, customer.text) == ("customer", "in", f"{URGENT}\n谢谢")
            agents = [messages[i] for i in body["agent_message_ids"]]
            assert [(m.author, m.direction, m.text) for m in agents] == [
                ("agent", "out", "您好，这里是客服中心"), ("agent", "out", "好的，我马上为您登记处理")]
            assert agents[1].created_at.isoformat() == "2026-12-07T02:00:09.500000+00:00"
            assert messages[body["reply_message_id"]].author == "bot"
            assert s.scalar(select(func.count()).select_from(MessageDelivery)) == 0  # spoken: nothing is sent
            meeting = s.get(EmergencyMeeting, body["meeting_id"])
            assert meeting is not None and meeting.conversation_id == conversation.id
            row = s.scalar(select(PhoneCall).where(PhoneCall.call_id == "c-1001"))
            assert row is not None and row.recording_ref == "rec://calls/c-1001.wav" and row.segments == 4
            assert row.ended_at is not None and row.ended_at.isoformat() == "2026-12-07T02:00:13+00:00"

        before = counts(rt)
        again = client.post("/api/v1/calls", json=call("c-1001", URGENT))
        assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
        assert again.json() == body and counts(rt) == before

        # the same caller again: the same customer, a conversation of its own, an ordinary work order
        complaint = "我上个月的信用卡还款记录不对，多扣了一笔年费，想投诉"
        other = client.post("/api/v1/calls", json=call("c-1002", complaint))
        assert other.status_code == 201 and other.json()["conversation_id"] != body["conversation_id"]
        assert other.json()["decision"] in {"work_order", "handoff", "answer", "clarify"}
        with rt.session_factory() as s:
            first_conv = s.get(Conversation, body["conversation_id"])
            second_conv = s.get(Conversation, other.json()["conversation_id"])
            assert first_conv is not None and second_conv is not None
            assert first_conv.customer_id == second_conv.customer_id


def test_call_bad_input_is_400_with_stable_codes_and_stores_nothing(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with calls_app(db_url, tmp_path, mailbox, pipeline) as (rt, client):
        before = counts(rt)
        base = call("c-2000", "信用卡账单怎么查询")
        cases = {
            "no customer": ({k: v for k, v in base.items() if k != "caller"}, "invalid_call"),
            "not a phone": (base | {"caller": "call me maybe"}, "invalid_call"),
            "naive time": (base | {"started_at": "2026-12-07T10:00:00"}, "invalid_call"),
            "bad speaker": (base | {"segments": [{"speaker": "robot", "start_ms": 0, "end_ms": 1, "text": "x"}]},
                            "invalid_call"),
            "backwards": (base | {"segments": [{"speaker": "customer", "start_ms": 5, "end_ms": 1, "text": "x"}]},
                          "invalid_call"),
            "agent only": (base | {"segments": [{"speaker": "agent", "start_ms": 0, "end_ms": 1, "text": "喂"}]},
                           "invalid_call"),
            "no transcript": (base | {"segments": []}, "transcript_required"),
            "unknown field": (base | {"secret": 1}, "invalid_call"),
        }
        for name, (payload, code) in cases.items():
            answer = client.post("/api/v1/calls", json=payload)
            assert (answer.status_code, answer.json()["code"]) == (400, code), name
            assert "信用卡" not in answer.text, name  # the customer's words are never echoed
        not_json = client.post("/api/v1/calls", content=b"{", headers={"Content-Type": "application/json"})
        assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_call")
        anonymous = client.post("/api/v1/calls", json=base, headers={"Authorization": ""})
        assert anonymous.status_code == 401
        assert counts(rt) == before


def test_call_without_transcript_uses_the_configured_speech_engine(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with calls_app(db_url, tmp_path, mailbox, pipeline,
                   calls_speech_engine="tests.support.speech:engine") as (rt, client):
        answer = client.post("/api/v1/calls", json=call("2001", "", segments=[],
                                                        recording_ref="rec://calls/2001.wav"))
        assert answer.status_code == 201, answer.text
        assert answer.json()["transcript_source"] == "engine" and len(answer.json()["agent_message_ids"]) == 1
        with rt.session_factory() as s:
            message = s.get(Message, answer.json()["customer_message_id"])
            assert message is not None and message.text == "我想问一下信用卡账单怎么查询"
        before = counts(rt)
        missing = client.post("/api/v1/calls", json=call("2002", "", segments=[], recording_ref="rec://nowhere"))
        assert missing.status_code == 503 and missing.json()["code"] == "speech_engine_unavailable"
        assert counts(rt) == before


def test_call_speech_engine_that_cannot_load_is_a_clear_503(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with calls_app(db_url, tmp_path, mailbox, pipeline, calls_speech_engine="no_such_module:engine") as (_, client):
        answer = client.post("/api/v1/calls", json=call("3001", "", segments=[]))
        assert answer.status_code == 503 and answer.json()["code"] == "speech_engine_unavailable"
        assert "CAREDESK_CALLS_SPEECH_ENGINE" in answer.json()["message"]


def test_call_long_customer_side_is_cut_at_a_turn_and_replayed_the_same(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with calls_app(db_url, tmp_path, mailbox, pipeline, max_message_chars=30) as (rt, client):
        payload = call("c-4001", "我想查询一下我的信用卡本月账单金额", segments=[
            {"speaker": "customer", "start_ms": 0, "end_ms": 1000, "text": "我想查询一下我的信用卡本月账单金额"},
            {"speaker": "customer", "start_ms": 2000, "end_ms": 3000, "text": "还有上个月的分期手续费为什么这么高呢"}])
        first = client.post("/api/v1/calls", json=payload)
        assert first.status_code == 201 and first.json()["truncated"] is True
        with rt.session_factory() as s:
            message = s.get(Message, first.json()["customer_message_id"])
            assert message is not None and message.text == "我想查询一下我的信用卡本月账单金额"
        again = client.post("/api/v1/calls", json=payload)
        assert again.status_code == 200 and again.json() == first.json()
