"""The work-order API on the demo bank: detail with SLA and timeline, reply, transfer, step, close with
survey, the public survey link reopening on a low rating, supervisor-only operations, the collision notice,
and bad input answered with 4xx and a code, nothing half-written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from tests.conftest import create_key

COMPLAINT = {"text": "信用卡年费被乱扣了，我要投诉，请给我一个说法", "channel": "chat", "customer_ref": "wo-api-1"}


def _order(api: Any, ref: str = "wo-api-1") -> dict[str, Any]:
    posted = api.post("/api/v1/messages", json=COMPLAINT | {"customer_ref": ref})
    assert posted.status_code == 201, posted.text
    assert posted.json()["decision"]["kind"] == "work_order"
    order = api.get(f"/api/v1/work-orders/{posted.json()['decision']['work_order_id']}")
    assert order.status_code == 200
    return order.json()


def test_work_order_lifecycle_through_the_api(api: Any, demo_runtime: Runtime) -> None:
    order = _order(api)
    assert order["flow"] == "complaint" and order["sla"]["policy"] == "complaint"
    assert {t["target"] for t in order["sla"]["targets"]} >= {"first_response", "resolution"}
    assert [e["kind"] for e in order["events"]][:2] in (["created", "assigned"], ["created", "queued"])
    assert order["next_due_at"] is not None and order["due_at"] == order["next_due_at"]  # the old key kept
    oid = order["id"]
    listed = next(o for o in api.get("/api/v1/work-orders").json()["items"] if o["id"] == oid)
    assert listed["due_at"] == listed["next_due_at"] == order["next_due_at"]

    reply = api.post(f"/api/v1/work-orders/{oid}/replies", json={"text": "您好，已收到，正在核实。"})
    assert reply.status_code == 201 and reply.json()["message_id"]
    conversation = api.get(f"/api/v1/conversations/{order['conversation_id']}").json()
    assert any(m.get("text_masked", m.get("text")) == "您好，已收到，正在核实。" for m in conversation["messages"])

    moved = api.post(f"/api/v1/work-orders/{oid}/transfer", json={"department": "retail_banking",
                                                                   "reason": "需核实年费规则"})
    assert moved.status_code == 200 and moved.json()["department_id"] != order["department_id"]
    step = api.post(f"/api/v1/work-orders/{oid}/step", json={"step": "investigate"})
    assert step.status_code == 200 and step.json()["step"] == "investigate"
    needs = api.post(f"/api/v1/work-orders/{oid}/step", json={"step": "review"})
    assert needs.status_code == 400 and needs.json()["code"] == "invalid_input"
    assert needs.json()["details"]["missing"] == ["root_cause"]

    resolved = api.post(f"/api/v1/work-orders/{oid}/resolve", json={"resolution": "年费已退回。"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    closed = api.post(f"/api/v1/work-orders/{oid}/close").json()
    assert closed["status"] == "closed" and closed["callback"]["status"] == "open"
    callbacks = api.get("/api/v1/callbacks").json()["items"]
    assert [c["work_order_id"] for c in callbacks] == [oid]

    from caredesk.storage.orm import SatisfactionSurvey

    with demo_runtime.session_factory() as s:
        token = s.get(SatisfactionSurvey, closed["survey_id"]).token  # type: ignore[union-attr]
    public = TestClient(create_app(demo_runtime, start_consumer=False))  # the customer: no key, no login
    assert public.get(f"/api/v1/surveys/{token}").json()["rating"] is None
    assert public.post(f"/api/v1/surveys/{token}", json={"rating": 0}).status_code in (400, 422)
    assert public.post(f"/api/v1/surveys/{token}", json={"rating": 2, "comment": "没解决"}).status_code == 200
    assert public.post(f"/api/v1/surveys/{token}", json={"rating": 5}).json()["code"] == "conflict"
    assert public.post("/api/v1/surveys/no-such-token", json={"rating": 5}).status_code == 404
    again = api.get(f"/api/v1/work-orders/{oid}").json()
    assert again["status"] == "reopened"
    kinds = [e["kind"] for e in again["events"]]
    assert kinds.index("transferred") < kinds.index("step_changed") < kinds.index("survey_answered")


def test_work_order_bad_input_and_permissions(api: Any, demo_runtime: Runtime) -> None:
    oid = _order(api, "wo-api-2")["id"]
    before = api.get(f"/api/v1/work-orders/{oid}").json()
    cases = [
        ("post", f"/api/v1/work-orders/{oid}/transfer", {"department": "no_such_dept", "reason": "x"}, 404),
        ("post", f"/api/v1/work-orders/{oid}/transfer", {"department": "retail_banking", "reason": ""}, 422),
        ("post", f"/api/v1/work-orders/{oid}/transfer", {"department": "retail_banking"}, 422),
        ("post", f"/api/v1/work-orders/{oid}/merge", {"into": oid}, 400),
        ("post", f"/api/v1/work-orders/{oid}/step", {"step": "callback"}, 409),
        ("post", f"/api/v1/work-orders/{oid}/replies", {"text": "   "}, 400),
        ("post", f"/api/v1/work-orders/{oid}/replies", {"macro": "nope"}, 404),
        ("post", "/api/v1/work-orders/missing/notes", {"text": "x"}, 404),
        ("post", f"/api/v1/work-orders/{oid}/notes", {"text": 5}, 422),
    ]
    for method, url, body, status in cases:
        response = getattr(api, method)(url, json=body)
        assert response.status_code in (status, 400 if status == 422 else status), (url, body, response.text)
        assert response.json()["code"], response.text
    after = api.get(f"/api/v1/work-orders/{oid}").json()
    assert after["events"] == before["events"] and after["department_id"] == before["department_id"]

    agent = TestClient(create_app(demo_runtime, start_consumer=False))
    agent.headers["Authorization"] = f"Bearer {create_key(demo_runtime, 'agent')}"
    assert agent.post(f"/api/v1/work-orders/{oid}/assign", json={"staff_id": None}).status_code == 403
    assert agent.get("/api/v1/sla/board").status_code == 403
    assert agent.post(f"/api/v1/work-orders/{oid}/notes", json={"text": "内部备注"}).status_code == 201
    auditor = TestClient(create_app(demo_runtime, start_consumer=False))
    auditor.headers["Authorization"] = f"Bearer {create_key(demo_runtime, 'auditor')}"
    assert auditor.post(f"/api/v1/work-orders/{oid}/notes", json={"text": "x"}).status_code == 403
    assert auditor.get(f"/api/v1/work-orders/{oid}").status_code == 200


def test_macros_and_collision_notice(api: Any, demo_runtime: Runtime) -> None:
    created = _order(api, "wo-api-3")
    oid, number = created["id"], created["case_number"]
    macro = {"code": "fee-refund", "title_zh": "年费退回", "title_en": "Fee refunded",
             "body_zh": "{customer}您好，工单 {order} 的年费已退回。",
             "body_en": "Dear {customer}, the fee of {order} is refunded."}
    assert api.post("/api/v1/macros", json=macro).status_code == 201
    assert api.post("/api/v1/macros", json=macro).json()["code"] == "conflict"
    assert api.post("/api/v1/macros", json=macro | {"code": "Bad Code!"}).status_code in (400, 422)
    sent = api.post(f"/api/v1/work-orders/{oid}/replies", json={"macro": "fee-refund"})
    assert sent.status_code == 201
    events = api.get(f"/api/v1/work-orders/{oid}").json()["events"]
    assert events[-1]["kind"] == "reply" and f"工单 {number} 的年费已退回" in events[-1]["note"]  # the case number

    other = TestClient(create_app(demo_runtime, start_consumer=False))
    other.headers["Authorization"] = f"Bearer {create_key(demo_runtime, 'team_lead')}"
    assert api.post(f"/api/v1/work-orders/{oid}/viewers").json()["others"] == []
    # the app instances differ but share the runtime's presence, as API processes share Redis
    assert other.post(f"/api/v1/work-orders/{oid}/viewers").json()["others"] == ["test-admin"]
