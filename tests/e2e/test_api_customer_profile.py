"""Customer profiles through the API: an integration sets contact and identity fields (PATCH), agents see
them masked, complaint managers reveal them (audited), anyone with conversation access finds a customer by
phone, ID number or bank card (keyed hashes, scoped, every read audited); bad values change nothing, and
the audit log names the fields changed but never holds their values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from caredesk.bootstrap.runtime import Runtime
from caredesk.customers.search import find_customers
from caredesk.http.app import create_app
from caredesk.http.deps import Caller
from caredesk.storage.orm import AuditEntry, Branch, Customer, Staff
from tests.conftest import create_key

ID_NUMBER = "110101199001061234"  # valid check digit (4)
BANK_CARD = "6222020003001234"  # Luhn-valid
PHONE = "13812345678"
ADDRESS = "广东省深圳市南山区科技园科苑路15号"
PROFILE = {"name": "张伟", "phone": "138-1234-5678", "email": "zhang.wei@example.com", "id_number": ID_NUMBER,
           "bank_card": "6222 0200 0300 1234", "address": ADDRESS, "tier": "gold", "branch": "sh_pudong"}
PLAINTEXTS = ("张伟", PHONE, "1234-5678", "zhang.wei@example.com", ID_NUMBER, BANK_CARD, "0003 001", "科技园")


def _client(rt: Runtime, role: str) -> TestClient:
    client = TestClient(create_app(rt, start_consumer=False))
    client.headers["Authorization"] = f"Bearer {create_key(rt, role)}"
    return client


def _customer(rt: Runtime, ref: str, **values: Any) -> str:
    with rt.uow() as uow:
        customer = Customer(ref=ref, created_at=rt.clock.now(), **values)
        uow.session.add(customer)
        uow.commit()
        return customer.id


def _audits(rt: Runtime, action: str) -> list[AuditEntry]:
    with rt.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _raw_customer(rt: Runtime, customer_id: str) -> tuple[Any, ...]:
    with rt.engine.connect() as conn:
        return tuple(conn.execute(text("SELECT * FROM customer WHERE id = :id"), {"id": customer_id}).one())


@pytest.fixture
def manager(demo_runtime: Runtime) -> TestClient:
    return _client(demo_runtime, "complaint_manager")


@pytest.fixture
def agent(demo_runtime: Runtime) -> TestClient:
    return _client(demo_runtime, "agent")


def test_profile_patch_then_agents_see_it_masked_and_managers_reveal_it(demo_runtime: Runtime, manager: TestClient,
                                                                       agent: TestClient) -> None:
    rt = demo_runtime
    customer_id = _customer(rt, "profile-1")
    updated = manager.patch(f"/api/v1/customers/{customer_id}", json=PROFILE)
    assert updated.status_code == 200, updated.text
    with rt.session_factory() as s:
        pudong = s.scalar(select(Branch.id).where(Branch.code == "sh_pudong"))
    expected_masked = {"id": customer_id, "ref": "profile-1", "name": "张*", "phone": "138****5678",
                       "email": "z***@example.com", "id_number": "110***********1234",
                       "bank_card": "6222 **** **** 1234", "address": "广东省深圳市****", "tier": "gold",
                       "branch_id": pudong, "language": None, "masked": True}
    assert updated.json() == expected_masked
    assert agent.get(f"/api/v1/customers/{customer_id}").json() == expected_masked
    assert agent.patch(f"/api/v1/customers/{customer_id}", json={"tier": "private"}).status_code == 403

    revealed = manager.post(f"/api/v1/customers/{customer_id}/reveal", json={"reason": "核实身份后回电"}).json()
    assert {k: revealed[k] for k in ("name", "phone", "email", "id_number", "bank_card", "address", "masked")} == {
        "name": "张伟", "phone": PHONE, "email": "zhang.wei@example.com", "id_number": ID_NUMBER,
        "bank_card": BANK_CARD, "address": ADDRESS, "masked": False}
    [reveal] = _audits(rt, "customer.revealed")
    assert reveal.data["fields"] == ["name", "phone", "email", "id_number", "bank_card", "address"]

    [update] = _audits(rt, "customer.updated")
    assert update.actor.startswith("api_key:") and update.object_id == customer_id
    assert update.data == {"fields": ["address", "bank_card", "branch", "email", "id_number", "name", "phone",
                                      "tier"]}
    with rt.engine.connect() as conn:  # the audit entries as stored, JSON and all
        stored = json.dumps([list(r) for r in conn.execute(text("SELECT * FROM audit_entry"))], default=str,
                            ensure_ascii=False)
    for plain in PLAINTEXTS:
        assert plain not in stored, plain
    raw = " ".join(str(v) for v in _raw_customer(rt, customer_id))
    for plain in PLAINTEXTS:
        assert plain not in raw, plain


def test_profile_same_values_are_no_change_and_null_clears(demo_runtime: Runtime, manager: TestClient) -> None:
    rt = demo_runtime
    customer_id = _customer(rt, "profile-2")
    assert manager.patch(f"/api/v1/customers/{customer_id}", json=PROFILE).status_code == 200
    again = manager.patch(f"/api/v1/customers/{customer_id}", json={"phone": "138 1234 5678", "tier": "gold"})
    assert again.status_code == 200 and len(_audits(rt, "customer.updated")) == 1  # nothing changed
    cleared = manager.patch(f"/api/v1/customers/{customer_id}", json={"address": None, "bank_card": None,
                                                                      "branch": None})
    assert (cleared.json()["address"], cleared.json()["bank_card"], cleared.json()["branch_id"]) == (None, None, None)
    assert _audits(rt, "customer.updated")[-1].data == {"fields": ["address", "bank_card", "branch"]}
    with rt.session_factory() as s:
        customer = s.get(Customer, customer_id)
        assert customer is not None and (customer.bank_card, customer.bank_card_hash) == (None, None)
        assert customer.id_number == ID_NUMBER  # untouched


def test_profile_search_by_each_keyed_hash(demo_runtime: Runtime, manager: TestClient, agent: TestClient) -> None:
    rt = demo_runtime
    customer_id = _customer(rt, "profile-3")
    other = _customer(rt, "profile-4", phone="13900009999")
    assert manager.patch(f"/api/v1/customers/{customer_id}", json=PROFILE).status_code == 200
    reads_before = len(_audits(rt, "customer.read"))
    for params in ({"phone": PHONE}, {"phone": "138 1234 5678"}, {"phone": "138-1234-5678"},
                   {"id_number": ID_NUMBER}, {"bank_card": BANK_CARD}, {"bank_card": "6222-0200-0300-1234"}):
        found = agent.post("/api/v1/customers/search", json=params)
        assert found.status_code == 200, (params, found.text)
        assert [(c["id"], c["phone"], c["masked"]) for c in found.json()["items"]] == [
            (customer_id, "138****5678", True)], params
    reads = _audits(rt, "customer.read")[reads_before:]
    assert [r.object_id for r in reads] == [customer_id] * 6 and all(r.data == {"via": "api"} for r in reads)
    by_phone = agent.post("/api/v1/customers/search", json={"phone": "13900009999"}).json()["items"]
    assert [c["id"] for c in by_phone] == [other]
    assert agent.post("/api/v1/customers/search", json={"bank_card": "4111111111111111"}).json() == {"items": []}
    assert agent.post("/api/v1/customers/search", json={"id_number": "11010519491231002x"}).json() == {"items": []}

    for params in ({}, {"phone": PHONE, "id_number": ID_NUMBER}, {"id_number": "110101199001061235"},
                   {"bank_card": "6222020003001235"}, {"phone": "call me"}):
        refused = agent.post("/api/v1/customers/search", json=params)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_input"), params
        assert ID_NUMBER[:-1] not in refused.text and "6222020003" not in refused.text
    assert agent.post("/api/v1/customers/search", json={"phone": "1" * 65}).status_code == 422


def test_profile_search_is_scoped_to_the_branch(demo_runtime: Runtime, manager: TestClient) -> None:
    rt = demo_runtime
    pudong_customer = _customer(rt, "profile-5")
    jingan_customer = _customer(rt, "profile-6")
    assert manager.patch(f"/api/v1/customers/{pudong_customer}", json={"phone": PHONE, "branch": "sh_pudong"}
                         ).status_code == 200
    assert manager.patch(f"/api/v1/customers/{jingan_customer}", json={"phone": PHONE, "branch": "sh_jingan"}
                         ).status_code == 200
    with rt.uow() as uow:
        branch = uow.session.scalar(select(Branch.id).where(Branch.code == "sh_jingan"))
        staff = Staff(username="jingan-agent", display_name="jingan", email="jingan@bank.test", role="agent",
                      branch_id=branch, password_hash="x", created_at=datetime(2026, 1, 1, tzinfo=UTC))
        uow.session.add(staff)
        uow.commit()
        viewer = Caller("staff", staff.id, "agent", staff.display_name)
    with rt.session_factory() as s:
        assert [c.id for c in find_customers(s, viewer, "phone", PHONE)] == [jingan_customer]
        everyone = find_customers(s, Caller("api_key", "k", "agent", "integration"), "phone", PHONE)
        assert {c.id for c in everyone} == {pudong_customer, jingan_customer}


@pytest.mark.parametrize(("change", "field"), [
    ({"id_number": "110101199001061235"}, "id_number"),  # check digit wrong
    ({"bank_card": "6222020003001235"}, "bank_card"),  # Luhn fails
    ({"branch": "no_such_branch"}, "branch"),
    ({"tier": "platinum"}, "tier"),
    ({"tier": None}, "tier"),
    ({"phone": "call me maybe"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"name": "nul\u0000byte"}, "name"),
])
def test_profile_bad_values_are_refused_and_change_nothing(demo_runtime: Runtime, manager: TestClient,
                                                          change: dict[str, Any], field: str) -> None:
    rt = demo_runtime
    customer_id = _customer(rt, "profile-7", name="李雷", phone="13900001111")
    before = _raw_customer(rt, customer_id)
    with rt.session_factory() as s:
        audits_before = s.scalar(select(func.count()).select_from(AuditEntry))
    body = {"name": "韩梅梅", "address": ADDRESS} | change  # valid fields alongside: none of them may be written
    refused = manager.patch(f"/api/v1/customers/{customer_id}", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "invalid_input" and refused.json()["details"]["field"] == field
    assert _raw_customer(rt, customer_id) == before
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audits_before


def test_profile_schema_errors_and_unknown_customers(demo_runtime: Runtime, manager: TestClient) -> None:
    customer_id = _customer(demo_runtime, "profile-8")
    unknown_field = manager.patch(f"/api/v1/customers/{customer_id}", json={"ssn": "123"})
    assert (unknown_field.status_code, unknown_field.json()["code"]) == (422, "validation_error")
    too_long = manager.patch(f"/api/v1/customers/{customer_id}", json={"address": "长" * 501})
    assert too_long.status_code == 422
    missing = manager.patch("/api/v1/customers/no-such-customer", json={"tier": "gold"})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert _audits(demo_runtime, "customer.updated") == []
