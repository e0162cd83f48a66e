"""The emergency gate from outside: an urgent-enough message below the configured confidence opens a
priority-1 work order flagged for a lead (the customer is told a duty lead is reviewing it); the lead starts
the emergency response with one call, once; an agent may not; the timeline and the audit log say who did."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, EmergencyMeeting
from tests.conftest import create_key

MESSAGE = {"text": "转账失败了三次，钱到现在还没退回来，怎么回事", "channel": "chat", "customer_ref": "gate-1"}


def _client(rt: Runtime, role: str) -> TestClient:
    client = TestClient(create_app(rt, start_consumer=False))
    client.headers["Authorization"] = f"Bearer {create_key(rt, role)}"
    return client


def test_held_emergency_is_confirmed_by_a_lead_once(api: Any, demo_runtime: Runtime) -> None:
    # Attention counts as urgent here and nothing but a hard rule passes the gate: the message is held.
    demo_runtime.settings = demo_runtime.settings.model_copy(
        update={"emergency_urgency": ["urgent", "attention"], "emergency_min_confidence": 1.0})
    posted = api.post("/api/v1/messages", json=MESSAGE).json()
    decision = posted["decision"]
    assert posted["triage"]["urgency"]["label"] in ("attention", "urgent"), posted["triage"]
    assert decision["kind"] == "work_order" and decision["confirm_emergency"] is True
    assert decision["meeting_id"] is None and "lead confirms" in decision["reason"]
    assert "值班主管正在核实" in posted["reply"]
    oid = decision["work_order_id"]
    order = api.get(f"/api/v1/work-orders/{oid}").json()
    assert order["priority"] == 1
    assert "emergency_suggested" in [e["kind"] for e in order["events"]]

    agent = _client(demo_runtime, "agent")
    refused = agent.post(f"/api/v1/work-orders/{oid}/emergency", json={"reason": "looks urgent"})
    assert refused.status_code == 403
    lead = _client(demo_runtime, "team_lead")
    assert lead.post(f"/api/v1/work-orders/{oid}/emergency", json={"reason": " "}).status_code in (400, 422)
    started = lead.post(f"/api/v1/work-orders/{oid}/emergency", json={"reason": "客户资金滞留，启动应急"})
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["meeting_id"] and body["participants"]
    again = lead.post(f"/api/v1/work-orders/{oid}/emergency", json={"reason": "again"})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")

    events = api.get(f"/api/v1/work-orders/{oid}").json()["events"]
    started_events = [e for e in events if e["kind"] == "emergency_started"]
    assert len(started_events) == 1 and started_events[0]["data"]["meeting_id"] == body["meeting_id"]
    with demo_runtime.session_factory() as s:
        meetings = s.scalars(select(EmergencyMeeting)).all()
        assert [m.id for m in meetings] == [body["meeting_id"]]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "emergency.confirmed")).all()
        assert len(audit) == 1 and audit[0].object_id == oid
