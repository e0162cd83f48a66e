"""Through the HTTP API: a message in Chinese or English comes back triaged and decided, and is stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from caredesk.storage.orm import Conversation, Message, TriageResult, WorkOrder


def post(api: Any, text: str, ref: str = "cust-001", conversation_id: str | None = None) -> dict[str, Any]:
    r = api.post("/api/v1/messages", json={"text": text, "channel": "web", "customer_ref": ref,
                                           "conversation_id": conversation_id})
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.mark.parametrize("text", ["How do I reset my online banking password?", "手机银行登录密码忘了怎么重置？"])
def test_messages_answers_from_knowledge_base(api: Any, text: str) -> None:
    body = post(api, text)
    assert body["decision"]["kind"] == "answer"
    assert "password" in body["decision"]["answer"].lower() or "密码" in body["decision"]["answer"]
    for head in ("content_type", "problem_type", "urgency"):
        assert 0 < body["triage"][head]["confidence"] <= 1
    assert body["triage"]["content_type"]["label"] == "system"
    conversation = api.get(f"/api/v1/conversations/{body['conversation_id']}").json()
    assert [m["author"] for m in conversation["messages"]] == ["customer", "bot"]
    assert conversation["messages"][0]["triage"]["decision"]["knowledge_version"] == 1


def test_messages_unanswerable_complaint_opens_work_order(api: Any, demo_runtime: Any) -> None:
    body = post(api, "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法")
    assert body["decision"]["kind"] == "work_order"
    order = api.get(f"/api/v1/work-orders/{body['decision']['work_order_id']}").json()
    assert order["problem_type"] == "complaint"
    assert order["flow"] in {"complaint", "system_complaint"}
    kinds = [e["kind"] for e in order["events"]]
    assert kinds[0] == "created" and kinds[1] in ("assigned", "queued") and len(kinds) == 2  # routed at once
    # the customer is told the order's case number (not its internal id); the order carries the same number
    assert body["decision"]["case_number"] in body["reply"] and body["decision"]["work_order_id"] not in body["reply"]
    assert order["case_number"] == body["decision"]["case_number"]
    with demo_runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrder)) == 1


def test_messages_urgent_creates_meeting_with_roster(api: Any) -> None:
    body = post(api, "My credit card was just stolen and someone made unauthorized payments, freeze it now!")
    assert body["decision"]["kind"] == "emergency"
    meeting = api.get(f"/api/v1/meetings/{body['decision']['meeting_id']}").json()
    assert len(meeting["participants"]) >= 2
    assert meeting["room_url"].startswith("https://")
    assert meeting["context"]["fault"]["description"]


def test_messages_follow_up_in_same_conversation(api: Any) -> None:
    first = post(api, "How do I activate my new debit card?", ref="cust-xyz")
    second = post(api, "And what is the daily ATM withdrawal limit?", ref="cust-xyz",
                  conversation_id=first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]


def test_messages_other_customers_conversation_is_not_found(api: Any, demo_runtime: Any) -> None:
    first = post(api, "How do I activate my new debit card?", ref="alice")
    with demo_runtime.session_factory() as s:
        before = s.scalar(select(func.count()).select_from(Message))
    r = api.post("/api/v1/messages", json={"text": "hi", "channel": "web", "customer_ref": "mallory",
                                           "conversation_id": first["conversation_id"]})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    with demo_runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == before  # nothing half-written


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"text": "hi", "channel": "web"}, 422, "validation_error"),
    ({"text": 5, "channel": "web", "customer_ref": "c"}, 422, "validation_error"),
    ({"text": "hi", "channel": "pigeon", "customer_ref": "c"}, 400, "invalid_input"),
    ({"text": "   ", "channel": "web", "customer_ref": "c"}, 400, "invalid_input"),
    ({"text": "hi", "channel": "web", "customer_ref": "c", "conversation_id": "nope"}, 404, "not_found"),
    ({"text": "hi", "channel": "web", "customer_ref": "c", "extra": 1}, 422, "validation_error"),
])
def test_messages_bad_input_is_4xx_with_code(api: Any, demo_runtime: Any, payload: dict[str, Any], status: int,
                                              code: str) -> None:
    r = api.post("/api/v1/messages", json=payload)
    assert (r.status_code, r.json()["code"]) == (status, code)
    with demo_runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
        assert s.scalar(select(func.count()).select_from(Conversation)) == 0
        assert s.scalar(select(func.count()).select_from(TriageResult)) == 0


def test_messages_malformed_json_and_huge_body(api: Any) -> None:
    r = api.post("/api/v1/messages", content=b'{"text": "hi",', headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_json")
    huge = b'{"text": "' + b"a" * (10 * 1024 * 1024) + b'", "channel": "web", "customer_ref": "c"}'
    r = api.post("/api/v1/messages", content=huge, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")


def test_messages_auth_required(api: Any) -> None:
    body = {"text": "hi", "channel": "web", "customer_ref": "c"}
    r = api.post("/api/v1/messages", json=body, headers={"Authorization": ""})
    assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")
    r = api.post("/api/v1/messages", json=body, headers={"Authorization": "Bearer cd_wrong"})
    assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")


def test_unknown_ids_are_404(api: Any) -> None:
    for path in ("/api/v1/work-orders/0000", "/api/v1/meetings/x", "/api/v1/conversations/y", "/api/v1/knowledge/z",
                 "/api/v1/nothing-here"):
        r = api.get(path)
        assert (r.status_code, r.json()["code"]) == (404, "not_found"), path


def test_openapi_lists_the_routes(api: Any) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for route in ("/api/v1/messages", "/api/v1/work-orders/{order_id}", "/api/v1/meetings/{meeting_id}",
                  "/api/v1/alarms", "/api/v1/knowledge"):
        assert route in paths


def test_messages_follow_up_complaint_joins_the_open_work_order(api: Any) -> None:
    first = post(api, "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法", ref="c-follow")
    second = post(api, "到现在还没有人联系我，你们支行的服务太差了，我要投诉", ref="c-follow",
                  conversation_id=first["conversation_id"])
    assert second["decision"]["kind"] == "work_order"
    assert second["decision"]["work_order_id"] == first["decision"]["work_order_id"]
    order = api.get(f"/api/v1/work-orders/{first['decision']['work_order_id']}").json()
    assert [e["kind"] for e in order["events"] if e["kind"] not in ("assigned", "queued")] == [
        "created", "customer_message"]
