"""A customer's data rights (PIPL) with the profile: the export holds the learned profile and the outside
sources' records with the rest of their data; erasure removes the profile and source records with the
personal data and the message texts; retention deletes an idle customer's profile and source records. Each is
audited without the data itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.customer_data import ERASED, do_erase_customer, do_export_customer
from caredesk.compliance.retention import RetentionPolicy, do_apply_retention
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Customer, CustomerProfile, CustomerSourceRecord, Message
from tests.conftest import create_key
from tests.support.profiles import Said, add_conversation, add_customer, add_order, add_profile, add_source

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PHONE = "13812345678"


def _customer(rt: Runtime, ref: str, at: datetime = NOW) -> str:
    cid = add_customer(rt, ref, tier="gold", created_at=at - timedelta(days=30), name="张伟", phone=PHONE)
    add_conversation(rt, cid, [Said(f"年费扣错了，回电{PHONE}", at - timedelta(days=1), topic="fees_charges",
                                    masked="年费扣错了，回电138****5678")])
    add_order(rt, cid, "年费扣错", created_at=at - timedelta(days=1), ended_at=at, resolution="已退还")
    add_profile(rt, cid, updated_at=at)
    add_source(rt, cid, "crm", status="ok", fetched_at=at, updated_at=at, fields={"segment": "retail",
                                                                                  "balance_band": "B3"})
    return cid


def _count(rt: Runtime, model: type, customer_id: str) -> int:
    with rt.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(model.customer_id == customer_id)) or 0)


def _audit_text(rt: Runtime) -> str:
    with rt.engine.connect() as conn:
        return json.dumps([list(r) for r in conn.execute(text("SELECT * FROM audit_entry"))], default=str,
                          ensure_ascii=False)


def test_export_holds_the_profile_and_the_sources_records(runtime: Runtime) -> None:
    cid = _customer(runtime, "privacy-export")
    data = do_export_customer(runtime.uow(), cid, actor="staff:dpo", reason="客户来函 2026-118", now=NOW)
    assert data["customer"]["phone"] == PHONE and data["customer"]["name"] == "张伟"  # theirs: unmasked
    assert data["profile"]["value_score"] == 0.82 and data["profile"]["segment"] == "high_value"
    assert data["profile"]["features"] == {"contacts_30d": 4.0, "complaints_90d": 2.0}
    assert data["profile"]["drivers"]["escalation_risk"] == [{"feature": "complaints_90d", "weight": 0.3}]
    assert data["source_records"] == [{"source": "crm", "fields": {"segment": "retail", "balance_band": "B3"},
                                       "status": "ok", "error": None, "fetched_at": NOW.isoformat(),
                                       "updated_at": NOW.isoformat()}]
    [conversation] = data["conversations"]
    assert [m["text"] for m in conversation["messages"]] == [f"年费扣错了，回电{PHONE}"]
    assert [(o["title"], o["resolution"]) for o in data["work_orders"]] == [("年费扣错", "已退还")]
    json.dumps(data, ensure_ascii=False)  # JSON-ready as it is
    with runtime.session_factory() as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "customer.exported"))
    assert entry.object_id == cid and entry.data == {"reason": "客户来函 2026-118", "profile": True,
                                                     "source_records": 1, "conversations": 1, "work_orders": 1}
    assert PHONE not in _audit_text(runtime) and "张伟" not in _audit_text(runtime)


def test_erasure_removes_the_profile_sources_personal_data_and_texts(runtime: Runtime) -> None:
    cid = _customer(runtime, "privacy-erase")
    other = _customer(runtime, "privacy-keep")
    report = do_erase_customer(runtime.uow(), cid, actor="staff:dpo", reason="客户要求删除", now=NOW)
    assert (report.messages, report.profiles, report.source_records) == (1, 1, 1)
    assert set(report.fields) == {"name", "phone"}
    assert (_count(runtime, CustomerProfile, cid), _count(runtime, CustomerSourceRecord, cid)) == (0, 0)
    assert (_count(runtime, CustomerProfile, other), _count(runtime, CustomerSourceRecord, other)) == (1, 1)
    with runtime.session_factory() as s:
        customer = s.get(Customer, cid)
        assert customer is not None and (customer.name, customer.phone, customer.phone_hash) == (None, None, None)
        assert customer.ref == "privacy-erase" and customer.tier == "gold"  # statistics keep their shape
        texts = {(m.text, m.text_masked) for m in s.scalars(select(Message))}
    assert (ERASED, ERASED) in texts and (f"年费扣错了，回电{PHONE}", "年费扣错了，回电138****5678") in texts
    again = do_erase_customer(runtime.uow(), cid, actor="staff:dpo", reason="重复请求", now=NOW)
    assert (again.messages, again.profiles, again.source_records, again.fields) == (0, 0, 0, ())
    with runtime.session_factory() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erased")))
    assert entries[0].data == {"reason": "客户要求删除", "fields": ["name", "phone"], "messages": 1, "profiles": 1,
                               "source_records": 1, "contacts": 0}


def test_retention_deletes_an_idle_customers_profile_and_sources(runtime: Runtime) -> None:
    idle = _customer(runtime, "privacy-idle", at=NOW - timedelta(days=6 * 365))
    active = _customer(runtime, "privacy-active", at=NOW - timedelta(days=3))
    report = do_apply_retention(runtime.uow(), RetentionPolicy(), now=NOW)
    assert report.profiles == 1
    assert (_count(runtime, CustomerProfile, idle), _count(runtime, CustomerSourceRecord, idle)) == (0, 0)
    assert (_count(runtime, CustomerProfile, active), _count(runtime, CustomerSourceRecord, active)) == (1, 1)
    with runtime.session_factory() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "retention.applied"))
    assert entry is not None and entry.data["profiles"] == 1
    assert do_apply_retention(runtime.uow(), RetentionPolicy(), now=NOW).profiles == 0


def test_export_and_erase_through_the_api(runtime: Runtime) -> None:
    cid = _customer(runtime, "privacy-api")
    with TestClient(create_app(runtime, start_consumer=False)) as client:
        agent = {"Authorization": f"Bearer {create_key(runtime, 'agent')}"}
        manager = {"Authorization": f"Bearer {create_key(runtime, 'complaint_manager')}"}
        body = {"reason": "客户来函 2026-119"}
        assert client.post(f"/api/v1/customers/{cid}/export", json=body, headers=agent).status_code == 403
        assert client.post(f"/api/v1/customers/{cid}/erase", json=body, headers=agent).status_code == 403
        short = client.post(f"/api/v1/customers/{cid}/erase", json={"reason": "x"}, headers=manager)
        assert (short.status_code, short.json()["code"]) == (422, "validation_error")
        missing = client.post("/api/v1/customers/nobody/export", json=body, headers=manager)
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        exported = client.post(f"/api/v1/customers/{cid}/export", json=body, headers=manager)
        assert exported.status_code == 200 and exported.json()["profile"]["segment"] == "high_value"
        erased = client.post(f"/api/v1/customers/{cid}/erase", json=body, headers=manager)
        assert erased.status_code == 200 and erased.json()["profiles"] == 1
        profile = client.get(f"/api/v1/customers/{cid}/profile", headers=agent).json()
    assert (profile["cold_start"], profile["segment"], profile["sources"]) == (True, "new", [])
    assert [b["summary"] for b in profile["recent_business"]] == [ERASED]  # the triage labels stay, not the text
