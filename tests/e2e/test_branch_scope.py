"""Data scoped by branch, through the real app: a branch agent sees their branch's customers and
conversations (API and pages), the central centre sees all, and every read of a conversation, a customer
or a work order is an audit entry of its own. The customer's branch comes in with the message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caredesk.accounts.credentials import hash_password
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Branch, Conversation, Customer, Department, Message, Staff
from tests.conftest import create_key
from tests.support.web_session import submit_sign_in

PASSWORD = "branch-test-pw"
COMPLAINT = "信用卡年费被乱扣了，我要投诉，请给我一个说法"
FAQ = "How do I reset my online banking password?"


@pytest.fixture
def app(demo_runtime: Runtime) -> Iterator[tuple[Runtime, object]]:
    yield demo_runtime, create_app(demo_runtime, start_consumer=False)


def _staff(rt: Runtime, username: str, role: str, branch_code: str | None) -> Staff:
    with rt.uow() as uow:
        s = uow.session
        branch = s.scalar(select(Branch).where(Branch.code == branch_code)) if branch_code else None
        dept = s.scalar(select(Department).order_by(Department.code).limit(1))
        person = Staff(username=username, display_name=username, email=f"{username}@bank.test", role=role,
                       department_id=dept.id if dept else None, branch_id=branch.id if branch else None,
                       password_hash=hash_password(PASSWORD), created_at=datetime(2026, 1, 1, tzinfo=UTC))
        s.add(person)
        uow.commit()
        s.refresh(person)
        s.expunge(person)
        return person


def _client(app: object, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    submit_sign_in(client, username, PASSWORD)
    return client


def _post(api: TestClient, ref: str, text: str, branch: str | None) -> dict:
    body = {"text": text, "channel": "web", "customer_ref": ref} | ({"customer_branch": branch} if branch else {})
    r = api.post("/api/v1/messages", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _reads(rt: Runtime, actor: str, action: str, object_id: str) -> list[dict]:
    with rt.session_factory() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.actor == actor, AuditEntry.action == action,
                                                  AuditEntry.object_id == object_id).order_by(AuditEntry.id))
        return [r.data for r in rows]


def test_branch_staff_see_their_branch_and_every_read_is_audited(app: tuple[Runtime, object]) -> None:
    rt, application = app
    with TestClient(application) as api:
        api.headers["Authorization"] = f"Bearer {create_key(rt)}"
        pudong = _post(api, "cust-pudong", FAQ, "sh_pudong")
        jingan = _post(api, "cust-jingan", COMPLAINT, "sh_jingan")
        central = _post(api, "cust-central", FAQ, None)
    with rt.session_factory() as s:
        by_ref = {c.ref: c for c in s.scalars(select(Customer))}
        assert by_ref["cust-pudong"].branch_id is not None
        assert by_ref["cust-central"].branch_id is None
    agent = _staff(rt, "pudong_agent", "agent", "sh_pudong")
    _staff(rt, "central_agent", "agent", None)

    with _client(application, "pudong_agent") as web:
        assert web.get(f"/api/v1/conversations/{pudong['conversation_id']}").status_code == 200
        for other in (jingan, central):
            r = web.get(f"/api/v1/conversations/{other['conversation_id']}")
            assert (r.status_code, r.json()["code"]) == (404, "not_found")
            assert web.get(f"/workbench/conversations/{other['conversation_id']}").status_code == 404
        assert web.get(f"/api/v1/customers/{by_ref['cust-pudong'].id}").status_code == 200
        assert web.get(f"/api/v1/customers/{by_ref['cust-jingan'].id}").status_code == 404
        page = web.get(f"/workbench/conversations/{pudong['conversation_id']}")
        assert page.status_code == 200
        queue = web.get("/workbench").text
        assert pudong["conversation_id"] in queue
        assert jingan["conversation_id"] not in queue and central["conversation_id"] not in queue
        foreign_message = jingan["message_id"]
        r = web.get(f"/api/v1/messages/{foreign_message}/corrections")
        assert r.status_code == 404

    actor = f"staff:{agent.id}"
    assert _reads(rt, actor, "conversation.read", pudong["conversation_id"]) == [{"via": "api"}, {"via": "web"}]
    assert _reads(rt, actor, "customer.read", by_ref["cust-pudong"].id) == [{"via": "api"}]
    # a refused read reveals nothing and is not a read
    assert _reads(rt, actor, "conversation.read", jingan["conversation_id"]) == []

    with _client(application, "central_agent") as web:  # the central centre sees every branch
        for conv in (pudong, jingan, central):
            assert web.get(f"/api/v1/conversations/{conv['conversation_id']}").status_code == 200


def test_a_work_order_assigned_across_branches_opens_its_conversation(app: tuple[Runtime, object]) -> None:
    rt, application = app
    with TestClient(application) as api:
        api.headers["Authorization"] = f"Bearer {create_key(rt)}"
        jingan = _post(api, "cust-jingan-2", COMPLAINT, "sh_jingan")
        order_id = jingan["decision"]["work_order_id"]
        assert order_id, jingan
        agent = _staff(rt, "pudong_agent2", "agent", "sh_pudong")
        with _client(application, "pudong_agent2") as web:
            assert web.get(f"/api/v1/work-orders/{order_id}").status_code == 404
            assert web.get(f"/workbench/work-orders/{order_id}").status_code == 404
            assert web.get(f"/api/v1/conversations/{jingan['conversation_id']}").status_code == 404
            r = api.post(f"/api/v1/work-orders/{order_id}/assign", json={"staff_id": agent.id})
            assert r.status_code == 200, r.text
            assert web.get(f"/api/v1/work-orders/{order_id}").status_code == 200
            assert web.get(f"/workbench/work-orders/{order_id}").status_code == 200
            assert web.get(f"/api/v1/conversations/{jingan['conversation_id']}").status_code == 200
    reads = _reads(rt, f"staff:{agent.id}", "work_order.read", order_id)
    assert reads == [{"via": "api"}, {"via": "web"}]


def test_an_unknown_branch_is_refused_and_nothing_is_written(app: tuple[Runtime, object]) -> None:
    rt, application = app
    with rt.session_factory() as s:
        before = [s.scalar(select(func.count()).select_from(m)) for m in (Customer, Conversation, Message)]
    with TestClient(application) as api:
        api.headers["Authorization"] = f"Bearer {create_key(rt)}"
        r = api.post("/api/v1/messages", json={"text": FAQ, "channel": "web", "customer_ref": "cust-x",
                                               "customer_branch": "nowhere"})
        assert r.status_code == 400
        assert r.json()["code"] == "invalid_input"
        assert r.json()["details"]["field"] == "customer_branch"
    with rt.session_factory() as s:
        after = [s.scalar(select(func.count()).select_from(m)) for m in (Customer, Conversation, Message)]
    assert after == before


URGENT = "My credit card was just stolen and someone made unauthorized payments, freeze it now!"
THREATS = ["我要向12378投诉", "再不处理我就打12378", "我已经准备好材料去银保监会投诉"]


def test_alarms_meetings_and_incidents_follow_the_conversations_branch(app: tuple[Runtime, object]) -> None:
    rt, application = app
    with TestClient(application) as api:
        api.headers["Authorization"] = f"Bearer {create_key(rt)}"
        urgent = _post(api, "cust-jingan-urgent", URGENT, "sh_jingan")
        meeting_id = urgent["decision"]["meeting_id"]
        assert meeting_id, urgent
        first = _post(api, "cust-jingan-angry", THREATS[0], "sh_jingan")
        for text in THREATS[1:]:
            body = {"text": text, "channel": "web", "customer_ref": "cust-jingan-angry",
                    "conversation_id": first["conversation_id"]}
            last = api.post("/api/v1/messages", json=body).json()
        alarm_id = last["alarm_id"]
        assert alarm_id, last
        record = api.post(f"/api/v1/meetings/{meeting_id}/end")
        assert record.status_code == 200, record.text
        record_id = record.json()["id"]

    _staff(rt, "pudong_lead", "team_lead", "sh_pudong")
    _staff(rt, "jingan_lead", "team_lead", "sh_jingan")
    with _client(application, "pudong_lead") as web:
        for path in (f"/api/v1/alarms/{alarm_id}", f"/api/v1/meetings/{meeting_id}",
                     f"/api/v1/incidents/{record_id}", f"/api/v1/meetings/{meeting_id}/incident",
                     f"/workbench/meetings/{meeting_id}", f"/workbench/incidents/{record_id}"):
            assert web.get(path).status_code == 404, path
        assert alarm_id not in [a["id"] for a in web.get("/api/v1/alarms").json()["items"]]
        assert alarm_id not in web.get("/workbench/alarms").text
    with _client(application, "jingan_lead") as web:
        for path in (f"/api/v1/alarms/{alarm_id}", f"/api/v1/meetings/{meeting_id}",
                     f"/api/v1/incidents/{record_id}", f"/workbench/meetings/{meeting_id}",
                     f"/workbench/incidents/{record_id}"):
            assert web.get(path).status_code == 200, path
        assert alarm_id in [a["id"] for a in web.get("/api/v1/alarms").json()["items"]]
