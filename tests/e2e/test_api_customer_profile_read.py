"""GET /api/v1/customers/{id}/profile: the learned profile with the customer's history read for the agent
(topics, recent business, past problems similar first, emotion and trend, recommendations, sources), masked
whatever the role, scoped by branch (404 outside it, as for a customer that does not exist), audited on every
read, in a fixed number of SQL statements; a customer the profile model has not scored yet gets the
cold-start profile, never an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from caredesk.accounts.credentials import hash_password
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Branch, KnowledgeEntry, Staff
from tests.conftest import create_key
from tests.support.profiles import (
    Said,
    add_conversation,
    add_customer,
    add_order,
    add_profile,
    add_source,
)
from tests.support.web_session import DEMO_PASSWORD, sign_in

PHONE = "13812345678"
KEYS = {"customer_id", "tier", "value_score", "loyalty_score", "escalation_risk", "segment", "tags", "emotion",
        "topics", "recent_business", "past_issues", "recommendations", "sources", "updated_at"}


def _client(rt: Runtime, role: str) -> TestClient:
    client = TestClient(create_app(rt, start_consumer=False))
    client.headers["Authorization"] = f"Bearer {create_key(rt, role)}"
    return client


def _branch(rt: Runtime, code: str) -> str:
    with rt.session_factory() as s:
        found = s.scalar(select(Branch.id).where(Branch.code == code))
        assert found is not None
        return found


def _history(rt: Runtime, ref: str, *, branch: str | None = None, tier: str = "gold") -> tuple[str, datetime]:
    """A customer with two conversations, three past orders and one open one."""
    now = rt.clock.now()
    cid = add_customer(rt, ref, tier=tier, branch_id=branch, created_at=now - timedelta(days=400), phone=PHONE)
    old = now - timedelta(days=20)
    add_conversation(rt, cid, [
        Said("信用卡年费为什么扣了两次", old, topic="fees_charges", emotion="neutral", complaint_level=1,
             problem_type="complaint"),
        Said("转账一直没到账", old + timedelta(minutes=5), topic="transfer_payment", emotion="anxious")])
    recent = now - timedelta(hours=3)
    add_conversation(rt, cid, [
        Said(f"我的信用卡年费又被扣了，打我电话{PHONE}", recent, topic="fees_charges", emotion="angry",
             complaint_level=2, problem_type="complaint", masked="我的信用卡年费又被扣了，打我电话138****5678"),
        Said("信用卡年费怎么免", recent + timedelta(minutes=2), topic="fees_charges", emotion="angry",
             complaint_level=1, problem_type="complaint")])
    add_order(rt, cid, "手机银行App闪退", created_at=now - timedelta(days=60), ended_at=now - timedelta(days=58),
              resolution="已指导客户重装App")
    add_order(rt, cid, "信用卡年费重复扣收", created_at=now - timedelta(days=90), ended_at=now - timedelta(days=88),
              resolution=f"已退还重复扣收的年费，并致电{PHONE}告知客户")
    add_order(rt, cid, "理财产品到期未兑付", created_at=now - timedelta(days=30), status="resolved",
              ended_at=now - timedelta(days=29))
    add_order(rt, cid, "信用卡年费又被扣", created_at=recent, status="in_progress")
    return cid, now


@pytest.fixture
def agent(demo_runtime: Runtime) -> TestClient:
    return _client(demo_runtime, "agent")


def test_profile_read_shows_the_model_the_history_and_the_sources_masked(demo_runtime: Runtime, agent: TestClient,
                                                                        crm_and_loyalty: None) -> None:
    rt = demo_runtime
    cid, now = _history(rt, "prof-read-1")
    add_profile(rt, cid, updated_at=now - timedelta(minutes=1))
    add_source(rt, cid, "crm", status="stale", fetched_at=now - timedelta(days=2), updated_at=now,
               error=f"timed out after 2 s (caller {PHONE})", fields={"segment": "retail"},
               expires_at=now + timedelta(minutes=5))
    add_source(rt, cid, "loyalty", status="ok", fetched_at=now - timedelta(hours=1), updated_at=now,
               expires_at=now + timedelta(hours=1))

    got = agent.get(f"/api/v1/customers/{cid}/profile", params={"lang": "en"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert set(body) >= KEYS
    assert (body["customer_id"], body["tier"], body["value_score"], body["loyalty_score"], body["escalation_risk"],
            body["segment"], body["tags"]) == (cid, "gold", 0.82, 0.64, 0.35, "high_value", ["高价值"])
    assert body["emotion"] == {"current": "anxious", "trend": "rising"}  # the model's, not recomputed
    assert body["cold_start"] is False and body["model_version"] == "profile-test-1"
    assert body["drivers"]["value_score"] == [{"feature": "balance_band", "weight": 0.41}]
    assert datetime.fromisoformat(body["updated_at"]) == now - timedelta(minutes=1)

    assert [(t["topic"], t["count"]) for t in body["topics"]] == [("fees_charges", 3), ("transfer_payment", 1)]
    assert datetime.fromisoformat(body["topics"][0]["last_at"]) == now - timedelta(hours=3) + timedelta(minutes=2)
    assert [(b["topic"], b["summary"]) for b in body["recent_business"]] == [
        ("fees_charges", "信用卡年费怎么免"), ("transfer_payment", "转账一直没到账")]

    past = body["past_issues"]
    assert len(past) == 3 and all(set(p) >= {"summary", "resolution", "closed_at"} for p in past)
    assert past[0]["summary"] == "信用卡年费重复扣收" and past[0]["similar"] is True  # similar first, though oldest
    assert past[0]["resolution"] == "已退还重复扣收的年费，并致电138****5678告知客户"
    assert {p["summary"] for p in past[1:]} == {"手机银行App闪退", "理财产品到期未兑付"}

    actions = [(r["id"], r["title"]) for r in body["recommendations"] if r["kind"] == "action"]
    assert actions == [("check_source:crm", "Check the customer's record in crm"),
                       ("follow_open_order", "Follow up the open work order first")]
    knowledge = [r for r in body["recommendations"] if r["kind"] == "knowledge"]
    with rt.session_factory() as s:
        keys = {entry_id: key for entry_id, key in s.execute(select(KnowledgeEntry.id, KnowledgeEntry.key))}
    assert knowledge and all(r["id"] in keys and r["reason"] for r in knowledge)
    assert "zh-annual-fee" in [keys[r["id"]] for r in knowledge]
    assert [(s["name"], s["status"]) for s in body["sources"]] == [("crm", "stale"), ("loyalty", "ok")]
    assert body["sources"][0]["error"] == "timed out after 2 s (caller 138****5678)"
    assert PHONE not in got.text

    manager = _client(rt, "complaint_manager").get(f"/api/v1/customers/{cid}/profile")  # may reveal: still masked
    assert manager.status_code == 200 and PHONE not in manager.text
    assert [r["title"] for r in manager.json()["recommendations"]][:1] == ["核对 crm 中的客户资料"]  # lang=zh default

    with rt.session_factory() as s:
        reads = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "customer_profile.read")))
    assert [(a.object_id, a.data) for a in reads] == [(cid, {"via": "api"})] * 2


def test_profile_read_cold_start_for_a_customer_not_scored_yet(demo_runtime: Runtime, agent: TestClient) -> None:
    rt = demo_runtime
    cid, _ = _history(rt, "prof-cold-1", tier="private")
    body = agent.get(f"/api/v1/customers/{cid}/profile").json()
    assert (body["segment"], body["cold_start"], body["updated_at"], body["model_version"]) == (
        "new", True, None, None)
    assert (body["value_score"], body["loyalty_score"]) == (0.9, 0.5)
    assert body["escalation_risk"] == 0.55  # 0.1 + 3 complaints x 0.15 (none at level 3)
    assert body["tags"] == ["多次投诉", "情绪激动"]
    assert body["emotion"] == {"current": "angry", "trend": "rising"}  # angry, angry vs anxious, neutral
    assert [r["id"] for r in body["recommendations"] if r["kind"] == "action"] == ["calm_first", "follow_open_order"]
    for key in ("value_score", "loyalty_score", "escalation_risk"):
        assert isinstance(body[key], float) and 0.0 <= body[key] <= 1.0

    empty = add_customer(rt, "prof-cold-2", created_at=rt.clock.now())
    nothing = agent.get(f"/api/v1/customers/{empty}/profile")
    assert nothing.status_code == 200, nothing.text
    got = nothing.json()
    assert (got["segment"], got["emotion"], got["topics"], got["recent_business"], got["past_issues"],
            got["recommendations"], got["sources"], got["tags"]) == (
        "new", {"current": "neutral", "trend": "steady"}, [], [], [], [], [], [])
    assert (got["value_score"], got["loyalty_score"], got["escalation_risk"]) == (0.3, 0.5, 0.1)


def test_profile_read_is_scoped_and_unknown_and_hidden_look_the_same(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    pudong, jingan = _branch(rt, "sh_pudong"), _branch(rt, "sh_jingan")
    own, _ = _history(rt, "prof-scope-own", branch=jingan)
    other, _ = _history(rt, "prof-scope-other", branch=pudong)
    with rt.uow() as uow:
        uow.session.add(Staff(username="jingan.agent", display_name="静安坐席", email="ja@bank.test", role="agent",
                              branch_id=jingan, password_hash=hash_password(DEMO_PASSWORD),
                              created_at=datetime(2026, 1, 1, tzinfo=UTC)))
        uow.commit()
    with TestClient(create_app(rt, start_consumer=False), follow_redirects=False) as client:
        sign_in(client, "jingan.agent")
        assert client.get(f"/api/v1/customers/{own}/profile").status_code == 200
        hidden = client.get(f"/api/v1/customers/{other}/profile")
        missing = client.get("/api/v1/customers/no-such-customer/profile")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert hidden.json()["message"] == missing.json()["message"]
    with rt.session_factory() as s:
        read = [a.object_id for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "customer_profile.read"))]
    assert read == [own]  # nothing audited for what was not shown
    bad_lang = _client(rt, "agent").get(f"/api/v1/customers/{own}/profile", params={"lang": "fr"})
    assert (bad_lang.status_code, bad_lang.json()["code"]) == (422, "validation_error")
    no_key = TestClient(create_app(rt, start_consumer=False)).get(f"/api/v1/customers/{own}/profile")
    assert no_key.status_code == 401


def _statements(rt: Runtime, client: TestClient, customer_id: str) -> list[str]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    event.listen(rt.engine, "before_cursor_execute", note)
    try:
        assert client.get(f"/api/v1/customers/{customer_id}/profile").status_code == 200
    finally:
        event.remove(rt.engine, "before_cursor_execute", note)
    return seen


def test_profile_read_query_budget_does_not_grow_with_the_history(demo_runtime: Runtime, agent: TestClient) -> None:
    rt = demo_runtime
    small, now = _history(rt, "prof-budget-small")
    big, _ = _history(rt, "prof-budget-big")
    add_profile(rt, big, updated_at=now)
    for day in range(12):
        at = now - timedelta(days=day + 30)
        add_conversation(rt, big, [Said(f"第{day}次问转账", at, topic="transfer_payment")])
        add_order(rt, big, f"转账延迟 {day}", created_at=at, ended_at=at + timedelta(hours=2), resolution="已到账")
    agent.get(f"/api/v1/customers/{small}/profile")  # warm: the knowledge index, the encoder
    few = _statements(rt, agent, small)
    many = _statements(rt, agent, big)
    reads = [s for s in many if s.lstrip().upper().startswith("SELECT")]
    # key lookup, customer (scope), profile row, topics, recent messages, work orders, sources; then the audit
    # write (its chain: the previous entry, and on PostgreSQL the chain's advisory lock)
    assert len(many) == len(few)
    assert len(reads) <= 10, [r[:80] for r in reads]
    assert len(many) <= 14, [r[:80] for r in many]
