"""Masking by role: agents see 138****5678; complaint managers may reveal, and every reveal is audited."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.reveal import mask_name
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Customer
from tests.conftest import create_key


def _client(rt: Runtime, role: str) -> TestClient:
    client = TestClient(create_app(rt, start_consumer=False))
    client.headers["Authorization"] = f"Bearer {create_key(rt, role)}"
    return client


def test_agents_see_masked_data_and_managers_reveal_with_an_audit_entry(api: Any, demo_runtime: Runtime) -> None:
    rt = demo_runtime
    posted = api.post("/api/v1/messages", json={"text": "我的手机号13812345678，信用卡年费被乱扣了，我要投诉",
                                                "channel": "chat", "customer_ref": "reveal-1"}).json()
    with rt.uow() as uow:
        customer = uow.session.scalar(select(Customer).where(Customer.ref == "reveal-1"))
        assert customer is not None
        customer.name, customer.phone, customer.email = "张伟", "13812345678", "zhang.wei@example.com"
        uow.commit()
        customer_id = customer.id

    agent, manager = _client(rt, "agent"), _client(rt, "complaint_manager")
    seen = agent.get(f"/api/v1/customers/{customer_id}").json()
    assert (seen["name"], seen["phone"], seen["email"], seen["masked"]) == ("张*", "138****5678", "z***@example.com",
                                                                           True)
    conversation = agent.get(f"/api/v1/conversations/{posted['conversation_id']}").json()
    assert "13812345678" not in str(conversation) and "138****5678" in conversation["messages"][0]["text"]
    assert agent.post(f"/api/v1/customers/{customer_id}/reveal", json={"reason": "callback"}).status_code == 403
    assert agent.post(f"/api/v1/messages/{posted['message_id']}/reveal", json={"reason": "x" * 5}).status_code == 403
    assert manager.post(f"/api/v1/customers/{customer_id}/reveal", json={"reason": ""}).status_code in (400, 422)

    revealed = manager.post(f"/api/v1/customers/{customer_id}/reveal", json={"reason": "客户要求回电"}).json()
    assert (revealed["phone"], revealed["masked"]) == ("13812345678", False)
    text = manager.post(f"/api/v1/messages/{posted['message_id']}/reveal", json={"reason": "核实投诉原文"}).json()
    assert "13812345678" in text["text"]
    with rt.session_factory() as s:
        audits = list(s.scalars(select(AuditEntry).where(AuditEntry.action.in_(("customer.revealed",
                                                                                 "message.revealed")))))
    assert sorted(a.action for a in audits) == ["customer.revealed", "message.revealed"]
    assert all(a.actor.startswith("api_key:") and a.data["reason"] for a in audits)
    assert "13812345678" not in str([a.data for a in audits])
    assert manager.post("/api/v1/customers/nope/reveal", json={"reason": "check"}).status_code == 404


def test_mask_name_keeps_the_first_character() -> None:
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("Alice Smith") == "A**** S****"
